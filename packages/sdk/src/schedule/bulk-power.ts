import { PveHttpError, PveTaskFailedError } from '../errors/pve-errors.js';
import type { Clock } from '../ports/clock.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { listVmResources } from '../templates/template-inventory.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';

/** What became of one VM of a bulk action. */
export type BulkVmOutcome =
  { vmid: number; ok: true; node: string; forcedBecause?: string } | { vmid: number; ok: false; error: string };

/** How a bulk action runs. */
export interface BulkPowerOptions {
  /** Seconds a guest gets to power off before it is stopped hard (shutdown only). */
  graceS: number;
  /** PVE's `max-workers`: power tasks the bulk task runs at a time (1–64). */
  maxWorkers: number;
  clock: Clock;
  pollIntervalMs: number;
  /** Called with the bulk task's UPID as soon as PVE accepted the request, before it is awaited. */
  onSent?: (upid: string) => Promise<void>;
}

/**
 * Starts or shuts down `vms` with one request, PVE 9's `POST /cluster/bulk-action/guest/{start,
 * shutdown}` (pve-manager `PVE/API2/Cluster/BulkAction/Guest.pm`), which paces the guests' own
 * power tasks (`max-workers`), then reads every VM's state from `/cluster/resources`. The shutdown
 * is sent without `force-stop`, so a guest that ignores it is left running by PVE and stopped hard
 * here, its outcome naming why. Answers `'unsupported'` when the cluster has no bulk actions (PVE
 * before 9.0.13 answers 501, and did nothing); any other refusal is thrown.
 */
export async function bulkPowerAction(
  api: PveApi,
  action: 'start' | 'shutdown',
  vms: ReadonlyArray<{ vmid: number }>,
  options: BulkPowerOptions,
): Promise<BulkVmOutcome[] | 'unsupported'> {
  const cluster = pveResources(api).cluster;
  const list = vms.map((vm) => vm.vmid);
  const maxWorkers = Math.max(1, Math.min(64, options.maxWorkers));
  let upid: string;
  try {
    upid =
      action === 'start'
        ? await cluster.bulkStart({ vms: list, 'max-workers': maxWorkers })
        : await cluster.bulkShutdown({
            vms: list,
            'max-workers': maxWorkers,
            timeout: options.graceS,
            'force-stop': false,
          });
  } catch (error) {
    if (error instanceof PveHttpError && error.status === 501) return 'unsupported';
    throw error;
  }
  await options.onSent?.(upid);
  const rounds = Math.ceil(list.length / maxWorkers);
  const perGuestS = action === 'start' ? 120 : options.graceS + 30;
  let failure: string | undefined;
  try {
    await waitForTask(api, upid, {
      clock: options.clock,
      timeoutMs: (rounds * perGuestS + 60) * 1000,
      pollIntervalMs: Math.min(250, options.pollIntervalMs),
      maxPollIntervalMs: options.pollIntervalMs,
    });
  } catch (error) {
    // `Some guests failed to …`: which ones is read from the cluster below.
    if (!(error instanceof PveTaskFailedError)) throw error;
    failure = error.exitstatus;
  }
  const want = action === 'start' ? 'running' : 'stopped';
  const live = new Map((await listVmResources(api)).map((r) => [r.vmid, r]));
  return mapWithConcurrency(list, maxWorkers, async (vmid): Promise<BulkVmOutcome> => {
    const vm = live.get(vmid);
    if (!vm) return { vmid, ok: false, error: `VM ${vmid} is no longer on the cluster` };
    if (vm.status === want) return { vmid, ok: true, node: vm.node };
    if (action === 'shutdown' && vm.status === 'running') {
      try {
        await waitForTask(api, await pveResources(api).qemu(vm.node, vmid).stop(), {
          clock: options.clock,
          timeoutMs: 120_000,
          pollIntervalMs: Math.min(250, options.pollIntervalMs),
          maxPollIntervalMs: options.pollIntervalMs,
        });
      } catch (error) {
        return { vmid, ok: false, error: (error as Error).message };
      }
      return {
        vmid,
        ok: true,
        node: vm.node,
        forcedBecause: `VM ${vmid} did not power off within ${options.graceS} s of a shutdown request, so it was stopped hard`,
      };
    }
    return { vmid, ok: false, error: failure ?? `VM ${vmid} is ${vm.status}, not ${want}, after the bulk ${action}` };
  });
}

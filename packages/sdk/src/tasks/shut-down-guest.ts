import { PveTaskFailedError } from '../errors/pve-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { waitForTask, type WaitForTaskOptions } from './wait-for-task.js';

/** How a shutdown ended: the guest powered off by itself, or was stopped after its grace. */
export interface ShutdownOutcome {
  /** True when the guest ignored the request and was stopped hard. */
  forced: boolean;
  /** Why it was stopped hard, for the audit log. */
  reason?: string;
}

/**
 * A shutdown task that ran out of time: qemu-server `_do_vm_stop` dies with
 * `VM quit/powerdown failed - got timeout` (or `VM quit/powerdown failed` when the request could
 * not even be sent) when `forceStop` is not set.
 */
function isPowerdownTimeout(error: unknown): boolean {
  return error instanceof PveTaskFailedError && /^VM quit\/powerdown failed/.test(error.exitstatus);
}

/**
 * Shuts a QEMU guest down cleanly (ACPI, or the guest agent), waiting `graceS` seconds; a guest
 * that ignores the request is then stopped hard, and the outcome says so. The shutdown is sent
 * without `forceStop`, so PVE fails its task on the timeout instead of killing the guest silently
 * (qemu-server `src/PVE/QemuServer.pm` `_do_vm_stop`) and the hard stop is ours, visible and audited.
 */
export async function shutDownGuest(
  api: PveApi,
  guest: { node: string; vmid: number },
  graceS: number,
  wait: WaitForTaskOptions,
): Promise<ShutdownOutcome> {
  const qemu = pveResources(api).qemu(guest.node, guest.vmid);
  const timeoutMs = (graceS + 60) * 1000;
  try {
    await waitForTask(api, await qemu.shutdown({ timeout: graceS }), { ...wait, timeoutMs });
    return { forced: false };
  } catch (error) {
    if (!isPowerdownTimeout(error)) throw error;
  }
  await waitForTask(api, await qemu.stop(), { ...wait, timeoutMs: 120_000 });
  return {
    forced: true,
    reason: `VM ${guest.vmid} did not power off within ${graceS} s of a shutdown request, so it was stopped hard`,
  };
}

import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { ConfigError, PveHttpError } from '../errors/pve-errors.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { listVmResources } from '../templates/template-inventory.js';
import { NotAllowedError, UnknownVmError } from '../inventory/inventory-errors.js';
import { assertMayStart, hasRunningLimit } from './usage.js';
import { withClassStartLock } from './class-start-lock.js';
import { assertClassOpen } from './class-term.js';
import { denialReason, type Viewer } from '../inventory/viewer.js';
import { pveResources } from '../pve/pve-resources.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { recordPowerState } from '../inventory/record-power-state.js';
import { shutDownGuest, type ShutdownOutcome } from '../tasks/shut-down-guest.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** Power actions an owner may take. */
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';

/** PVE's own wait for a shutdown when none is given (qemu-server `_do_vm_stop`). */
const DEFAULT_SHUTDOWN_GRACE_S = 60;

const RESULT_STATUS: Record<PowerAction, 'running' | 'stopped'> = {
  start: 'running',
  stop: 'stopped',
  shutdown: 'stopped',
  reboot: 'running',
};

/** What `VmPower` needs, and its limits. */
export interface VmPowerDeps {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
  pollIntervalMs?: number;
  /**
   * Power tasks (start, stop, shutdown, reboot) run at once per node; the rest wait their turn in
   * arrival order, so a lesson-start storm of `/myvm start` reaches each node as a steady stream
   * instead of a burst of workers. @defaultValue `10`
   */
  maxPowerTasksPerNode?: number;
}

/**
 * Start / stop / shutdown / reboot of a VM for its owner (or the teacher of its class, or an admin),
 * waiting on the PVE task, then updating the VM's inventory row at once and writing the audit log.
 * `shutdown` is graceful and falls back to a hard stop after `shutdownTimeoutS` (60 s by default),
 * audited as `forced` with the reason. A student's start
 * outside a session is refused when the class's quota or running limit says so (`assertMayStart`);
 * such a start is checked and done under the class's start lock (a lease in the store), so parallel
 * starts from any number of processes cannot overshoot a running limit. A student's start of a VM of
 * a class whose term has ended is refused (`ClassEndedError`). Each action opens or closes
 * the VM's running interval in the usage ledger. At most
 * `maxPowerTasksPerNode` tasks run on one node at a time (per `VmPower` instance).
 */
export class VmPower {
  readonly #deps: VmPowerDeps;
  readonly #clock: Clock;
  readonly #perNode = new Map<string, ConcurrencyLimiter>();
  readonly #maxPerNode: number;

  constructor(deps: VmPowerDeps) {
    checkOptions('new VmPower', deps, STORE_AND_CLUSTERS, PORT_HINTS);
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#maxPerNode = deps.maxPowerTasksPerNode ?? SDK_DEFAULTS.power.maxTasksPerNode;
    if (!Number.isInteger(this.#maxPerNode) || this.#maxPerNode < 1)
      throw new ConfigError(`maxPowerTasksPerNode must be a whole number of at least 1 (got ${this.#maxPerNode})`, {
        key: 'maxPowerTasksPerNode',
      });
  }

  #nodeLimiter(clusterId: string, node: string): ConcurrencyLimiter {
    const key = `${clusterId}/${node}`;
    let limiter = this.#perNode.get(key);
    if (!limiter) {
      limiter = new ConcurrencyLimiter(this.#maxPerNode);
      this.#perNode.set(key, limiter);
    }
    return limiter;
  }

  /**
   * Performs `action` on cluster+vmid for `viewer`; refused with `NotAllowedError` when not theirs.
   * `reason` (a scheduled session, an idle VM) is kept in the audit entry.
   */
  async perform(
    viewer: Viewer,
    clusterId: string,
    vmid: number,
    action: PowerAction,
    options: {
      shutdownTimeoutS?: number;
      reason?: string;
      /** More facts for the audit entry (the scheduler's idle `signal`). */
      details?: Record<string, unknown>;
    } = {},
  ): Promise<{ vmid: number; status: string; durationMs: number }> {
    const { store } = this.#deps;
    const started = this.#clock.now();
    const target = `${clusterId}/${vmid}`;
    const row = await store.inventory.get(clusterId, vmid);
    if (!row || row.goneAt !== null) throw new UnknownVmError(clusterId, vmid);
    const assignment = await store.classes.assignment(clusterId, vmid);
    const reason = await denialReason(store, viewer, assignment);
    if (reason) {
      await store.audit.record({
        at: started,
        actor: viewer.username,
        action: `vm.${action}`,
        target,
        outcome: 'denied',
        details: { reason },
      });
      throw new NotAllowedError({ actor: viewer.username, action, target: `VM ${vmid} (${row.name})`, reason });
    }
    const run = () =>
      this.#nodeLimiter(clusterId, row.node).run(() =>
        this.#run(viewer, clusterId, vmid, action, options, row, started),
      );
    if (action !== 'start' || row.status === 'running') return run();
    const check = async () => {
      try {
        await assertClassOpen(store, viewer, assignment, started);
        await assertMayStart(store, viewer, assignment, started);
      } catch (error) {
        await store.audit.record({
          at: started,
          actor: viewer.username,
          action: `vm.${action}`,
          target,
          outcome: 'denied',
          details: { reason: (error as Error).message },
        });
        throw error;
      }
    };
    // A running limit is checked and the start done under the class's start lock: parallel starts
    // (any process) cannot all pass the check.
    if (await hasRunningLimit(store, viewer, assignment))
      return withClassStartLock(store, this.#clock, assignment!.classId!, async () => {
        await check();
        return run();
      });
    await check();
    return run();
  }

  async #run(
    viewer: Viewer,
    clusterId: string,
    vmid: number,
    action: PowerAction,
    options: { shutdownTimeoutS?: number; reason?: string; details?: Record<string, unknown> },
    row: VmInventoryRecord,
    started: number,
  ): Promise<{ vmid: number; status: string; durationMs: number }> {
    const { store } = this.#deps;
    const target = `${clusterId}/${vmid}`;
    const api = this.#deps.clusters.get(clusterId);
    let node = row.node;
    const wait = {
      clock: this.#clock,
      pollIntervalMs: Math.min(
        SDK_DEFAULTS.taskWait.pollIntervalMs,
        this.#deps.pollIntervalMs ?? SDK_DEFAULTS.taskWait.pollIntervalMs,
      ),
      maxPollIntervalMs: this.#deps.pollIntervalMs ?? SDK_DEFAULTS.power.maxPollIntervalMs,
    };
    let alreadyRunning = false;
    // A shutdown the guest ignores ends in a hard stop after the grace (`shutDownGuest`), audited as forced.
    const once = async (): Promise<ShutdownOutcome | undefined> => {
      if (action === 'shutdown')
        return shutDownGuest(api, { node, vmid }, options.shutdownTimeoutS ?? DEFAULT_SHUTDOWN_GRACE_S, wait);
      try {
        const upid = await pveResources(api).qemu(node, vmid)[action]();
        await waitForTask(api, upid, wait);
      } catch (error) {
        // A start PVE refuses because the VM runs already (a second click, a stale page) did what was asked.
        if (action !== 'start' || classifyPveFailure(error)?.reason !== 'guest-running') throw error;
        alreadyRunning = true;
      }
      return undefined;
    };
    let outcome: ShutdownOutcome | undefined;
    try {
      try {
        outcome = await once();
      } catch (error) {
        // The VM may have moved since the last sync: ask the cluster where it is and try once more.
        if (!(error instanceof PveHttpError && /does not exist/.test(error.pveMessage))) throw error;
        const live = (await listVmResources(api)).find((r) => r.vmid === vmid);
        if (!live) throw new UnknownVmError(clusterId, vmid);
        node = live.node;
        outcome = await once();
      }
    } catch (error) {
      if (!(error instanceof UnknownVmError) && !(error instanceof PveHttpError))
        await store.audit.record({
          at: this.#clock.now(),
          actor: viewer.username,
          action: `vm.${action}`,
          target,
          outcome: 'failed',
          details: { error: (error as Error).message },
        });
      throw error;
    }
    const status = RESULT_STATUS[action];
    await recordPowerState(store, { clusterId, vmid }, status, this.#clock.now(), { node });
    await store.audit.record({
      at: this.#clock.now(),
      actor: viewer.username,
      action: `vm.${action}`,
      target,
      outcome: 'ok',
      details: {
        node,
        ...(options.reason ? { reason: options.reason } : {}),
        ...(outcome?.forced ? { forced: true, forcedBecause: outcome.reason } : {}),
        ...(alreadyRunning ? { alreadyRunning: true } : {}),
        ...options.details,
      },
    });
    return { vmid, status, durationMs: this.#clock.now() - started };
  }
}

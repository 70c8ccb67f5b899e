import { PveSimError } from '../sim-error.js';
import type { AccessControl } from './access-control.js';
import type { ClusterState } from './cluster-state.js';
import type { GuestOperations } from './guest-operations.js';
import type { SimGuest, SimTask } from './types.js';

/** Parameters of `POST /cluster/bulk-action/guest/{start,shutdown}`, schema-checked. */
export interface BulkParams {
  vms?: number[];
  timeout?: number;
  'force-stop'?: number;
  'max-workers'?: number;
  maxworkers?: number;
}

interface Startup {
  order: number;
  up?: number;
  down?: number;
}

/** pve-common `pve_parse_startup_order`; no order sorts last (`LONG_MAX`). */
function startupOf(guest: SimGuest): Startup {
  const text = guest.config.startup ?? '';
  const number = (key: string): number | undefined => {
    const m = new RegExp(`(?:^|,)${key}=(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const order = number('order') ?? (/^(\d+)(?:,|$)/.exec(text) ? Number(/^(\d+)/.exec(text)![1]) : undefined);
  return { order: order ?? Number.MAX_SAFE_INTEGER, up: number('up'), down: number('down') };
}

const typeText = (guest: SimGuest): string => (guest.type === 'lxc' ? 'CT' : 'VM');

/**
 * The cluster-wide bulk actions of PVE 9 (pve-manager `PVE/API2/Cluster/BulkAction/Guest.pm`
 * `start`, `shutdown`; from pve-manager 9.0.13): VM.PowerMgmt on every listed `/vms/<id>` (or on
 * `/` without a list) before the worker; one `bulk-start` / `bulk-shutdown` task (no id) whose
 * worker takes the guests by startup order (`get_start_stop_list`; reversed for shutdown), then by
 * VMID, with at most `max-workers` (default 4) of their own power tasks at a time, polling every
 * second (`handle_task_foreach_guest`). Guests already in the wanted state are skipped with a
 * counted warning; a guest's failure is a warning too, and the task fails at the end with
 * `Some guests failed to start: 101, 102` / `Some guests failed to shutdown 101, 102`.
 * Shutdowns use the guest's `startup: down=` or `timeout` (default 180) and `force-stop` (default 1).
 */
export class BulkActions {
  constructor(
    private readonly state: ClusterState,
    private readonly ops: GuestOperations,
    private readonly access: AccessControl,
  ) {}

  run(action: 'start' | 'shutdown', params: BulkParams, user: string): SimTask {
    const listed = params.vms ?? [];
    // check_guest_permissions
    if (listed.length > 0) for (const vmid of listed) this.access.check(user, `/vms/${vmid}`, ['VM.PowerMgmt']);
    else this.access.check(user, '/', ['VM.PowerMgmt']);
    const node = [...this.state.nodes.values()].find((n) => n.online)?.name;
    if (!node) throw new PveSimError(595, 'Errors during connection establishment, proxy handshake: No route to host');
    const maxWorkers = params['max-workers'] ?? params.maxworkers ?? 4;
    return this.state.tasks.start(node, `bulk-${action}`, '', user, async (log, warn) => {
      const wanted = listed.length > 0 ? new Set(listed) : undefined;
      const guests = [...this.state.guests.values()].filter(
        (g) => (!wanted || wanted.has(g.vmid)) && g.config.template !== '1',
      );
      const verb = action === 'start' ? 'Starting' : 'Shutting down';
      log(listed.length > 0 ? `${verb} guests: ${listed.join(', ')}` : `${verb} all guests`);
      const byOrder = new Map<number, SimGuest[]>();
      for (const guest of guests) {
        const order = startupOf(guest).order * (action === 'shutdown' ? -1 : 1);
        byOrder.set(order, [...(byOrder.get(order) ?? []), guest]);
      }
      const failed: number[] = [];
      for (const order of [...byOrder.keys()].sort((a, b) => a - b)) {
        const group = byOrder.get(order)!.sort((a, b) => a.vmid - b.vmid);
        await this.#forEachGuest(group, maxWorkers, failed, {
          startTask: (guest) =>
            action === 'start'
              ? this.#startOne(guest, params, user, log, warn)
              : this.#shutdownOne(guest, params, user, log, warn),
          onError: (guest, task) => {
            const text = task.exitstatus ?? 'unexpected status';
            warn(`${action === 'start' ? 'Starting' : 'Stopping'} ${typeText(guest)} ${guest.vmid} failed: ${text}`);
          },
          ...(action === 'start' ? { startLog: log } : {}),
        });
      }
      if (failed.length > 0)
        throw new Error(
          action === 'start'
            ? `Some guests failed to start: ${failed.join(', ')}`
            : `Some guests failed to shutdown ${failed.join(', ')}`,
        );
    });
  }

  /** `handle_task_foreach_guest` for one startup-order group. */
  async #forEachGuest(
    group: SimGuest[],
    maxWorkers: number,
    failed: number[],
    steps: {
      startTask: (guest: SimGuest) => SimTask | 'skipped' | undefined;
      onError: (guest: SimGuest, task: SimTask) => void;
      startLog?: (line: string) => void;
    },
  ): Promise<void> {
    const workers = new Map<SimTask, SimGuest>();
    const settle = async (task: SimTask, guest: SimGuest): Promise<void> => {
      workers.delete(task);
      if (task.exitstatus !== 'OK' && !task.exitstatus?.startsWith('WARNINGS')) {
        failed.push(guest.vmid);
        steps.onError(guest, task);
        return;
      }
      // check_task of `start`: the guest's startup delay (`up=N`).
      const up = steps.startLog ? startupOf(guest).up : undefined;
      if (up) {
        steps.startLog!(`Waiting for ${up} seconds (startup delay)`);
        await this.state.time.sleep(up * 1000);
      }
    };
    for (const guest of group) {
      while (workers.size >= maxWorkers) {
        for (const [task, g] of [...workers]) if (task.status !== 'running') await settle(task, g);
        await this.state.time.sleep(1000);
      }
      const task = steps.startTask(guest);
      if (task === 'skipped') continue;
      if (task === undefined) {
        failed.push(guest.vmid);
        continue;
      }
      workers.set(task, guest);
    }
    while (workers.size > 0) {
      const [task, guest] = [...workers][0]!;
      while (task.status === 'running') await this.state.time.sleep(1000);
      await settle(task, guest);
    }
  }

  #startOne(
    guest: SimGuest,
    params: BulkParams,
    user: string,
    log: (line: string) => void,
    warn: (message: string) => void,
  ): SimTask | 'skipped' | undefined {
    if (guest.status === 'running') {
      warn(`Skipping ${typeText(guest)} ${guest.vmid}, already running.`);
      return 'skipped';
    }
    log(`Starting ${typeText(guest)} ${guest.vmid}`);
    try {
      return this.ops.power(guest.node, guest.vmid, guest.type, 'start', user, {
        ...(params.timeout !== undefined && guest.type === 'qemu' ? { timeout: params.timeout } : {}),
      });
    } catch (error) {
      warn(apiClientError(error));
      return undefined;
    }
  }

  #shutdownOne(
    guest: SimGuest,
    params: BulkParams,
    user: string,
    log: (line: string) => void,
    warn: (message: string) => void,
  ): SimTask | 'skipped' | undefined {
    if (guest.status !== 'running') {
      warn(`Skipping ${typeText(guest)} ${guest.vmid}, not running.`);
      return 'skipped';
    }
    const timeout = Math.trunc(startupOf(guest).down ?? params.timeout ?? 180);
    const forceStop = (params['force-stop'] ?? 1) === 1;
    log(`Shutting down ${typeText(guest)} ${guest.vmid} (Timeout = ${timeout} seconds)`);
    try {
      return this.ops.power(guest.node, guest.vmid, guest.type, 'shutdown', user, { timeout, forceStop });
    } catch (error) {
      warn(apiClientError(error));
      return undefined;
    }
  }
}

/** How PVE's API client reports a refused call (`<status> <message>`). */
function apiClientError(error: unknown): string {
  return error instanceof PveSimError ? `${error.status} ${error.message}` : String(error);
}

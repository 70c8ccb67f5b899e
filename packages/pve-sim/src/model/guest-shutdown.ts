import type { ClusterState } from './cluster-state.js';
import type { SimGuest } from './types.js';

/** What a shutdown request asks for (qemu-server `vm_shutdown` parameters). */
export interface ShutdownOptions {
  timeout?: number;
  forceStop?: boolean;
}

/** PVE's wait for a guest to power off when no timeout is given (qemu-server `_do_vm_stop`). */
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 60;

/**
 * Whether `guest` ignores shutdown requests. Decided once per guest — by its scenario setting or,
 * when it has none, by the seeded `ignoreAcpiRate` — so a guest that ignored one request ignores
 * the next as well, as a real one without an ACPI daemon does.
 */
export function ignoresShutdown(state: ClusterState, guest: SimGuest, random: () => number): boolean {
  guest.ignoresAcpi ??= state.ignoreAcpiRate > 0 && random() < state.ignoreAcpiRate;
  return guest.ignoresAcpi;
}

/**
 * The worker of `POST …/status/shutdown`, after qemu-server `src/PVE/QemuServer.pm` `_do_vm_stop`:
 * the timeout is the request's, else the config's `startup: down=N`, else 60 s. A guest that
 * powers off within it is stopped; otherwise, with `forceStop`, PVE warns
 * `VM still running - terminating now with SIGTERM` in the task log and stops it (the task still
 * ends `TASK OK`: a plain `warn` is not counted as a task warning), and without `forceStop` the task
 * fails with `VM quit/powerdown failed - got timeout` and the guest keeps running.
 */
export async function shutdownGuest(
  state: ClusterState,
  guest: SimGuest,
  options: ShutdownOptions,
  log: (line: string) => void,
  markStopped: () => void,
  random: () => number,
): Promise<void> {
  const down = /(?:^|,)down=(\d+)/.exec(guest.config.startup ?? '')?.[1];
  const timeout = options.timeout ?? (down !== undefined ? Number(down) : DEFAULT_SHUTDOWN_TIMEOUT_SECONDS);
  const powersOffAfter = ignoresShutdown(state, guest, random) ? Infinity : state.timings.shutdownSeconds;
  if (powersOffAfter <= timeout) {
    await state.time.sleep(powersOffAfter * 1000);
    markStopped();
    return;
  }
  await state.time.sleep(timeout * 1000);
  if (!options.forceStop) throw new Error('VM quit/powerdown failed - got timeout');
  log('VM still running - terminating now with SIGTERM');
  await state.time.sleep(state.timings.stopSeconds * 1000);
  markStopped();
}

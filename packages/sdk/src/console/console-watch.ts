import { PveHttpError } from '../errors/pve-errors.js';
import type { Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { ConsoleGrant, ConsoleGrants } from './console-grants.js';
import { DefaultConsoleOptions } from './console-grants.js';

/** Why a console session ended on the server's side (`closed`: the watch was aborted, e.g. the browser left). */
export type ConsoleEndReason = 'time-limit' | 'vm-stopped' | 'access-revoked' | 'closed';

/** A sentence for the person at the console, for each end reason. */
export const CONSOLE_END_MESSAGES: Record<ConsoleEndReason, string> = {
  'time-limit': 'The console session reached its time limit; ask for a new link with /myvm console.',
  'vm-stopped': 'The VM stopped, so its console closed; start it with /myvm start and ask for a new link.',
  'access-revoked': 'You may no longer open this VM, so its console closed; ask your teacher if that is wrong.',
  closed: 'The console closed.',
};

/** What `watchConsoleSession` needs. */
export interface ConsoleWatchDeps {
  api: PveApi;
  grants: ConsoleGrants;
  clock: Clock;
  logger?: Logger;
}

/**
 * Watches an open console session until it must end: its `sessionMaxMs` since `openedAt` passed,
 * the VM is no longer running (PVE's `status/current`, every `intervalMs`), or the person may no
 * longer open the VM (the store: assignment, class membership, role). Resolves `closed` when
 * `signal` aborts. A PVE error that says nothing about the VM (a timeout) is logged and retried.
 */
export async function watchConsoleSession(
  deps: ConsoleWatchDeps,
  session: { grant: ConsoleGrant; node: string; openedAt: number },
  options: { signal: AbortSignal; intervalMs?: number },
): Promise<ConsoleEndReason> {
  const logger = deps.logger ?? silentLogger;
  const intervalMs = options.intervalMs ?? DefaultConsoleOptions.watchIntervalMs;
  const { grant } = session;
  const endsAt = session.openedAt + grant.sessionMaxMs;
  const qemu = pveResources(deps.api).qemu(session.node, grant.vmid);
  for (;;) {
    if (options.signal.aborted) return 'closed';
    const left = endsAt - deps.clock.now();
    if (left <= 0) return 'time-limit';
    try {
      await deps.clock.sleep(Math.min(intervalMs, left), options.signal);
    } catch {
      return 'closed';
    }
    if (deps.clock.now() >= endsAt) return 'time-limit';
    if ((await deps.grants.accessProblem(grant)) !== undefined) return 'access-revoked';
    try {
      const status = await qemu.status({ signal: options.signal });
      if (status.status !== 'running') return 'vm-stopped';
    } catch (error) {
      if (options.signal.aborted) return 'closed';
      // A VM that is gone answers 500 "does not exist" (or 404 on newer PVE): nothing left to show.
      if (
        error instanceof PveHttpError &&
        (error.status === 404 || (error.status === 500 && /does not exist/i.test(error.pveMessage)))
      )
        return 'vm-stopped';
      logger.warn('could not check the state of a VM with an open console', {
        clusterId: grant.clusterId,
        vmid: grant.vmid,
        error,
      });
    }
  }
}

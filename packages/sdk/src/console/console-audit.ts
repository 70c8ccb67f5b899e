import type { Clock } from '../ports/clock.js';
import type { Store } from '../store/store.js';
import type { ConsoleGrantRecord } from '../store/console-grant-repository.js';

/** Audit actions of console sessions. */
export const CONSOLE_AUDIT_ACTIONS = { open: 'console.open', close: 'console.close' } as const;

/**
 * Records a console session opening or closing in the audit log: the lab username as actor, the
 * VM as target, and the chat identity the link was asked from (`platform`, `platformUserId`).
 */
export async function auditConsole(
  deps: { store: Store; clock: Clock },
  grant: Pick<ConsoleGrantRecord, 'clusterId' | 'vmid' | 'platform' | 'platformUserId'> & {
    person: { username: string };
  },
  event: keyof typeof CONSOLE_AUDIT_ACTIONS,
  outcome: 'ok' | 'denied' | 'failed',
  details: Record<string, unknown> = {},
): Promise<void> {
  await deps.store.audit.record({
    at: deps.clock.now(),
    actor: grant.person.username,
    action: CONSOLE_AUDIT_ACTIONS[event],
    target: `vm ${grant.clusterId}/${grant.vmid}`,
    outcome,
    details: { platform: grant.platform, platformUserId: grant.platformUserId, ...details },
  });
}

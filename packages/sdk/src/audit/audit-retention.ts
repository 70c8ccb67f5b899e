import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LEASE_TTL_MS, whileHoldingLease } from '../store/lease-heartbeat.js';

/** How long audit entries are kept unless `audit.retentionDays` says otherwise. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
/** The lease one pruning run holds (only while it runs). */
export const AUDIT_RETENTION_LEASE = 'audit-retention';
/** The audit action of a pruning run. */
export const AUDIT_PRUNE_ACTION = 'audit.prune';
const DAY_MS = 86_400_000;

/** What a pruning run did; `skipped` says why nothing ran. */
export type AuditPruneResult = { pruned: number; before: EpochMs } | { skipped: 'not-due' | 'lease-held-elsewhere' };

/**
 * Deletes audit entries older than `retentionDays`, at most once a day across every process: under
 * the `audit-retention` lease (held with a heartbeat only while the run lasts), a run is due when the
 * newest `audit.prune` entry is a day old or more (read from the audit log, so a process that died
 * before finishing leaves the run due). The delete and its own `audit.prune` entry (with the count)
 * are one transaction.
 */
export async function pruneAuditLog(options: {
  store: Store;
  clock: Clock;
  holderId: string;
  retentionDays?: number;
  leaseTtlMs?: number;
  logger?: Logger;
}): Promise<AuditPruneResult> {
  const { store, clock, holderId } = options;
  const days = options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`audit retentionDays must be a whole number of days ≥ 1, got ${days}`);
  const ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const due = async () => {
    const [last] = await store.audit.list({ action: AUDIT_PRUNE_ACTION, limit: 1 });
    return !last || clock.now() - last.at >= DAY_MS;
  };
  if (!(await due())) return { skipped: 'not-due' };
  if (!(await store.sync.acquireLease(AUDIT_RETENTION_LEASE, holderId, ttlMs, clock.now())))
    return { skipped: 'lease-held-elsewhere' };
  try {
    return await whileHoldingLease(
      {
        store,
        clock,
        name: AUDIT_RETENTION_LEASE,
        holder: holderId,
        ttlMs,
        ...(options.logger ? { logger: options.logger } : {}),
      },
      async (): Promise<AuditPruneResult> => {
        // Another process may have finished a run between the first look and the lease.
        if (!(await due())) return { skipped: 'not-due' };
        const now = clock.now();
        const before = now - days * DAY_MS;
        const pruned = await store.transaction(async (tx) => {
          const count = await tx.audit.prune(before);
          await tx.audit.record({
            at: now,
            actor: 'audit-retention',
            action: AUDIT_PRUNE_ACTION,
            target: 'audit log',
            outcome: 'ok',
            details: { pruned: count, before: new Date(before).toISOString(), retentionDays: days },
          });
          return count;
        });
        options.logger?.info('audit log pruned', { pruned, retentionDays: days });
        return { pruned, before };
      },
    );
  } finally {
    await store.sync.releaseLease(AUDIT_RETENTION_LEASE, holderId);
  }
}

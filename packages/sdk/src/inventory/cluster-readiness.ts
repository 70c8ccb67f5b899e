import type { EpochMs } from '../store/records.js';

import { DEFAULT_QUICK_INTERVAL_MS, DEFAULT_SYNC_LEASE_TTL_MS } from './sync-timing.js';

/**
 * How old a cluster's last successful sync may be before the cluster counts as not answering: long
 * enough for the sync leader's lease to expire after it dies and another process to take over (the
 * lease TTL plus two quick intervals: the leader's last renewal after its last sync, and the
 * survivor's wait for its next tick), and never under two quick intervals (one missed beat is not
 * an outage) or 30 s. `/readyz` and `sync status` both judge by this one rule.
 */
export function clusterAnswerMaxAgeMs(
  quickIntervalMs: number = DEFAULT_QUICK_INTERVAL_MS,
  leaseTtlMs: number = DEFAULT_SYNC_LEASE_TTL_MS,
): number {
  return Math.max(30_000, leaseTtlMs + 2 * quickIntervalMs);
}

/** A cluster's sync state as {@link clusterReadiness} reads it. */
export interface ClusterSyncFacts {
  lastSuccessAt: EpochMs | null;
  consecutiveErrors: number;
  lastError: string | null;
}

/**
 * Whether a cluster answers the sync by the rule of {@link clusterAnswerMaxAgeMs}, and why not:
 * "last answered 79 s ago (limit 30 s)", "never answered (…)", "not synced yet".
 */
export function clusterReadiness(
  facts: ClusterSyncFacts,
  now: EpochMs,
  maxAgeMs: number,
): { ok: true } | { ok: false; reason: string } {
  const failures = facts.consecutiveErrors ? `${facts.consecutiveErrors} failed syncs: ${facts.lastError ?? ''}` : '';
  if (facts.lastSuccessAt === null)
    return { ok: false, reason: failures ? `never answered (${failures})` : 'not synced yet' };
  const age = now - facts.lastSuccessAt;
  if (age > maxAgeMs)
    return {
      ok: false,
      reason: `last answered ${Math.round(age / 1000)} s ago (limit ${Math.round(maxAgeMs / 1000)} s)${failures ? `; ${failures}` : ''}`,
    };
  return { ok: true };
}

/** The default quick-sync interval of the sync engine, in ms. */
export const DEFAULT_QUICK_INTERVAL_MS = 30_000;

/** The default TTL of the sync leader's lease, in ms: how long a dead leader keeps the others from syncing. */
export const DEFAULT_SYNC_LEASE_TTL_MS = 30_000;

/** How often the sync loop takes or renews the leader lease: at most a quick interval, and a third of the lease TTL. */
export function syncTickMs(quickIntervalMs: number, leaseTtlMs: number): number {
  return Math.max(10, Math.min(quickIntervalMs, leaseTtlMs / 3));
}

import { hostname } from 'node:os';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Store } from './store.js';

/**
 * How long a lease outlives its holder's last heartbeat, by default: a holder renews every third of
 * it, so a process that died (SIGKILL, power cut) is taken over within this time.
 */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A lease holder name that says which process holds it: `host:pid:random`. */
export function leaseHolderId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** What a heartbeat renews, and how often. */
export interface LeaseHeartbeatOptions {
  store: Store;
  clock: Clock;
  name: string;
  holder: string;
  ttlMs: number;
  logger?: Logger;
}

/**
 * Runs `fn` while renewing lease `name` for `holder` every third of `ttlMs`, so work that takes
 * longer than the lease's time to live keeps it, and a holder that stops beating (it died) loses
 * it after `ttlMs`. The caller already holds the lease. `lost()` tells `fn` whether a renewal found
 * the lease taken over (the work should stop scheduling more).
 */
export async function whileHoldingLease<T>(
  options: LeaseHeartbeatOptions,
  fn: (lost: () => boolean) => Promise<T>,
): Promise<T> {
  const { store, clock, name, holder, ttlMs, logger } = options;
  const stop = new AbortController();
  let lost = false;
  const beat = (async () => {
    for (;;) {
      try {
        await clock.sleep(Math.max(1, Math.floor(ttlMs / 3)), stop.signal);
      } catch {
        return;
      }
      if (stop.signal.aborted) return;
      const renewed = await store.sync.acquireLease(name, holder, ttlMs, clock.now()).catch((error: unknown) => {
        logger?.warn('lease renewal failed; trying again', { lease: name, error });
        return undefined;
      });
      if (renewed === false) {
        lost = true;
        logger?.error('lease lost to another process', { lease: name, holder });
        return;
      }
    }
  })();
  try {
    return await fn(() => lost);
  } finally {
    stop.abort();
    await beat;
  }
}

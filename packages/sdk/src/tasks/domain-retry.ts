import { backoffDelay, type BackoffOptions } from '../client/backoff.js';
import type { PveRefusalReason } from '../errors/pve-refusal.js';

/**
 * The domain's waits, in one place: conditions PVE reports as passing (a guest still locked, a
 * VMID taken between `nextid` and the clone, a storage lock timeout, a clone answer lost on the
 * way), and how long the lab waits them out. Transport retries — a request that failed on the wire
 * or with a retryable status — are the client's alone (`client/retry-policy.ts`), charged to a
 * deployment's `RetryBudget`.
 */
export const DOMAIN_RETRY = {
  /** A deployment item whose guest was locked, or whose clone answer was lost: attempts in all and the backoff between them. */
  item: { attempts: 3, backoff: { baseDelayMs: 500, maxDelayMs: 5000 } },
  /** A clone PVE refused for a VMID race or a storage lock timeout: new attempts, and the backoff before one after a lock timeout. */
  clone: { retries: 4, lockWait: { baseDelayMs: 1000, maxDelayMs: 15_000 } },
  /** VMIDs the allocator tries from `nextid`'s answer on before it gives up. */
  vmidSearch: { attempts: 50 },
  /** A lost clone answer: how long the new VMID is watched for before the clone is sent once more. */
  lostCloneAnswer: { graceMs: 10_000 },
} as const satisfies {
  item: { attempts: number; backoff: BackoffOptions };
  clone: { retries: number; lockWait: BackoffOptions };
  vmidSearch: { attempts: number };
  lostCloneAnswer: { graceMs: number };
};

/**
 * How a clone PVE refused is tried again: at once with a fresh VMID after a VMID race, after a
 * backoff (`DOMAIN_RETRY.clone.lockWait`) with a fresh VMID after a storage lock timeout, or not.
 */
export function cloneRefusalRetry(reason: PveRefusalReason | undefined): 'fresh-vmid' | 'after-lock-wait' | undefined {
  if (reason === 'vmid-taken') return 'fresh-vmid';
  if (reason === 'lock-timeout') return 'after-lock-wait';
  return undefined;
}

/** The wait before retry number `attempt` (1-based) of a domain condition, with jitter. */
export function domainWaitMs(attempt: number, backoff: BackoffOptions): number {
  return backoffDelay(attempt, backoff);
}

import { PveConnectionError, PveHttpError, PveTimeoutError } from '../errors/pve-errors.js';
import { backoffDelay } from './backoff.js';
import type { PveRetryOptions } from './client-options.js';
import type { RetryBudget } from '../ports/retry-budget.js';

/** Statuses that mean "the node or proxy could not serve this now" (59x are pveproxy's own). */
const TRANSIENT_STATUSES = new Set([502, 503, 504, 595, 596, 599]);

/** PVE 500 texts that describe a passing condition rather than a wrong request. */
const TRANSIENT_500 =
  /got timeout|lock request timeout|can't lock|temporar|try again|cluster filesystem not online|connection/i;

/** PVE 500 texts that are a definite answer (the object is not there), never worth repeating. */
const DEFINITE_500 = /does not exist|no such/i;

/**
 * Whether `error` may be retried (with `serverErrors`, an idempotent call after any 500 but a
 * definite "does not exist"). Idempotent calls (GETs by default) are retried after timeouts,
 * resets and transient 5xx; any call is retried when the request provably never reached PVE
 * (connection refused, or reset before it was written, or 595 "connection establishment").
 * A POST that may have taken effect is never retried blindly.
 */
export function isRetryable(error: unknown, idempotent: boolean, options: { serverErrors?: boolean } = {}): boolean {
  if (error instanceof PveConnectionError) return !error.requestSent || idempotent;
  if (error instanceof PveTimeoutError) return idempotent;
  if (error instanceof PveHttpError) {
    if (error.status === 595) return true;
    if (!idempotent) return false;
    if (TRANSIENT_STATUSES.has(error.status)) return true;
    if (error.status !== 500) return false;
    if (options.serverErrors) return !DEFINITE_500.test(error.pveMessage);
    return error.pveMessage === '' || TRANSIENT_500.test(error.pveMessage);
  }
  return false;
}

/** What a request that failed is to do next: wait `delayMs` and go again, or give up (`budgetSpent` when the budget said no). */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; budgetSpent: boolean };

/** One call as the retry policy sees it. */
export interface RetriedCall {
  idempotent: boolean;
  /** Retry a read after any non-definite 500 (`PveRequestOptions.retryServerErrors`). */
  retryServerErrors?: boolean;
  /** The deployment's budget: its per-request cap replaces `maxAttempts`, and each retry is taken from it. */
  budget?: RetryBudget | undefined;
  aborted?: boolean;
}

/**
 * The client's one transport retry policy: which failures may be repeated (`isRetryable`: methods,
 * statuses, PVE's passing 500s), how many attempts a request gets, the backoff between them, and
 * the retry budget they are charged to. The domain's own waits are not here (`tasks/domain-retry.ts`).
 */
export class TransportRetryPolicy {
  readonly #options: PveRetryOptions;
  readonly #random: () => number;

  constructor(options: PveRetryOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Whether attempt number `attempt` (1-based) of `call`, which failed with `error`, is followed by another, and after how long. */
  decide(error: unknown, attempt: number, call: RetriedCall): RetryDecision {
    const maxAttempts = call.budget ? call.budget.maxAttemptsPerRequest : this.#options.maxAttempts;
    if (
      attempt >= maxAttempts ||
      !isRetryable(error, call.idempotent, { serverErrors: call.retryServerErrors === true }) ||
      call.aborted
    )
      return { retry: false, budgetSpent: false };
    if (call.budget && !call.budget.tryAcquire()) return { retry: false, budgetSpent: true };
    return { retry: true, delayMs: backoffDelay(attempt, this.#options, this.#random) };
  }
}

/** Exponential backoff settings. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  baseDelayMs: number;
  /** Upper bound for any delay. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (1-based): `base·2^(attempt-1)`, capped, with "equal
 * jitter" (half fixed, half random) so that many clients do not retry in lock-step.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

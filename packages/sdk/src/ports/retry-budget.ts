import { checkOptions } from '../util/constructor-options.js';

/** Settings of a `RetryBudget`. */
export interface RetryBudgetOptions {
  /** Retries allowed per request sent, on top of `minRetries`. @defaultValue `0.2` */
  ratio?: number;
  /** Retries always allowed, however few requests were sent. @defaultValue `10` */
  minRetries?: number;
  /**
   * Attempts of one request under this budget, the first included. The budget, not this cap,
   * bounds the total, so it may be higher than the client's own `retry.maxAttempts`.
   * @defaultValue `5`
   */
  maxAttemptsPerRequest?: number;
}

/**
 * Retries shared by every PVE request of one piece of work (a deployment): at most
 * `minRetries + ratio × requests` in all, so a fault rate multiplies into a bounded number of
 * extra requests rather than into attempts × retries × loops. The client asks it before every
 * retry; pass it per call as `retryBudget` (or wrap the API with `withRetryBudget`).
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.2, minRetries: 10 });
 * const api = withRetryBudget(client, budget);
 * await cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'cs101-alice' });
 * console.log(budget.retries, budget.denied);
 * ```
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetries: number;
  readonly maxAttemptsPerRequest: number;
  #requests = 0;
  #retries = 0;
  #denied = 0;

  constructor(options: RetryBudgetOptions = {}) {
    checkOptions('new RetryBudget', options, {
      ratio: 'number?',
      minRetries: 'number?',
      maxAttemptsPerRequest: 'number?',
    });
    this.ratio = options.ratio ?? 0.2;
    this.minRetries = options.minRetries ?? 10;
    this.maxAttemptsPerRequest = options.maxAttemptsPerRequest ?? 5;
    if (
      !(this.ratio >= 0) ||
      !Number.isInteger(this.minRetries) ||
      this.minRetries < 0 ||
      !Number.isInteger(this.maxAttemptsPerRequest) ||
      this.maxAttemptsPerRequest < 1
    ) {
      throw new RangeError(
        'RetryBudget: ratio must be ≥ 0, minRetries a whole number ≥ 0 and maxAttemptsPerRequest a whole number ≥ 1',
      );
    }
  }

  /** Requests counted (first attempts only). */
  get requests(): number {
    return this.#requests;
  }

  /** Retries granted so far. */
  get retries(): number {
    return this.#retries;
  }

  /** Retries refused because the budget was spent. */
  get denied(): number {
    return this.#denied;
  }

  /** Counts one request (its first attempt). */
  recordRequest(): void {
    this.#requests++;
  }

  /** Takes one retry from the budget; `false` when it is spent. */
  tryAcquire(): boolean {
    if (this.#retries >= this.minRetries + Math.floor(this.ratio * this.#requests)) {
      this.#denied++;
      return false;
    }
    this.#retries++;
    return true;
  }
}

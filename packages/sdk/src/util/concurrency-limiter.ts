/**
 * A counting semaphore: at most `limit` holders at once, the rest wait in FIFO order, those that
 * asked `first` before the others.
 */
export class ConcurrencyLimiter {
  readonly #waiters: Array<() => void> = [];
  readonly #firstWaiters: Array<() => void> = [];
  #active = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency limit must be a whole number ≥ 1, got ${limit}`);
  }

  /** How many holders run now. */
  get active(): number {
    return this.#active;
  }

  /** How many callers wait for a slot. */
  get waiting(): number {
    return this.#waiters.length + this.#firstWaiters.length;
  }

  /** Runs `task` once a slot is free, releasing the slot however it ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits for a slot and returns its release; releasing more than once frees it once. With `first`
   * it waits ahead of every caller that did not ask so.
   */
  async acquire(options: { first?: boolean } = {}): Promise<() => void> {
    if (this.#active >= this.limit)
      await new Promise<void>((resolve) => (options.first ? this.#firstWaiters : this.#waiters).push(resolve));
    else this.#active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.#firstWaiters.shift() ?? this.#waiters.shift();
      if (next) next();
      else this.#active--;
    };
  }
}

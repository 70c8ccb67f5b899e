import type { SimTime } from '../sim-time.js';

/** A FIFO lock whose waiters give up after a (simulated) timeout, like PVE's file and cfs locks. */
export class TimedMutex {
  #held = false;
  readonly #queue: Array<{ grant: () => void; timedOut: boolean }> = [];

  constructor(private readonly time: SimTime) {}

  /** Whether someone holds the lock now. */
  get busy(): boolean {
    return this.#held;
  }

  /** Waits for the lock; resolves with `release`, or rejects after `timeoutMs` simulated ms. */
  acquire(timeoutMs: number): Promise<() => void> {
    const release = (): void => {
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#held = false;
    };
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        timedOut: false,
        grant: () => resolve(release),
      };
      this.#queue.push(waiter);
      void this.time.sleep(timeoutMs).then(() => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) {
          this.#queue.splice(i, 1);
          waiter.timedOut = true;
          reject(new Error('timeout'));
        }
      });
    });
  }
}

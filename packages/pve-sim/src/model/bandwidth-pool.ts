import type { SimTime } from '../sim-time.js';

interface Copy {
  size: number;
  done: number;
  onTick: (done: number) => void;
  finish: () => void;
}

/**
 * Copies on one storage share its throughput equally (processor sharing), advanced in ticks
 * of simulated time (each spending the time that really passed); a copy that needs less than its share leaves the rest to the others.
 */
export class BandwidthPool {
  readonly #copies = new Set<Copy>();
  #running = false;

  constructor(
    private readonly time: SimTime,
    readonly bytesPerSecond: number,
    private readonly tickSeconds: number,
  ) {}

  /** Copies currently sharing the bandwidth. */
  get active(): number {
    return this.#copies.size;
  }

  /** Copies `size` bytes; `onTick` sees the bytes done so far after every tick. */
  copy(size: number, onTick: (done: number) => void): Promise<void> {
    return new Promise((resolve) => {
      if (size <= 0) {
        resolve();
        return;
      }
      this.#copies.add({ size, done: 0, onTick, finish: resolve });
      if (!this.#running) void this.#loop();
    });
  }

  async #loop(): Promise<void> {
    this.#running = true;
    let last = this.time.now();
    while (this.#copies.size > 0) {
      await this.time.sleep(this.tickSeconds * 1000);
      // Late timers must not slow the model down: spend the simulated time that really passed.
      const now = this.time.now();
      let budget = (this.bytesPerSecond * (now - last)) / 1000;
      last = now;
      const pending = [...this.#copies].sort((a, b) => a.size - a.done - (b.size - b.done));
      pending.forEach((copy, i) => {
        const share = budget / (pending.length - i);
        const step = Math.min(share, copy.size - copy.done);
        copy.done += step;
        budget -= step;
      });
      for (const copy of pending) {
        copy.onTick(copy.done);
        if (copy.done >= copy.size) {
          this.#copies.delete(copy);
          copy.finish();
        }
      }
    }
    this.#running = false;
  }
}

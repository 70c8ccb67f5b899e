/**
 * Simulated time: every duration in the model is in "PVE time" (what a real cluster would take);
 * `timeScale` makes it pass that many times faster in real time, keeping every ratio.
 */
export class SimTime {
  readonly #startReal = Date.now();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(readonly timeScale: number) {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  }

  /** Simulated milliseconds since the epoch. */
  now(): number {
    return this.#startReal + (Date.now() - this.#startReal) * this.timeScale;
  }

  /** Simulated seconds since the epoch, as PVE reports times. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Resolves after `simMs` simulated milliseconds. Never resolves after `close()`. */
  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return;
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          resolve();
        },
        Math.max(0, simMs / this.timeScale),
      );
      this.#timers.add(timer);
    });
  }

  /** Stops every pending timer (the simulator is shutting down). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

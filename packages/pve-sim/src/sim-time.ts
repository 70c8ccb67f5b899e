/** A pending `sleep`: when it ends (simulated ms), how to end it, and its real timer while time runs. */
interface Sleeper {
  wakeAt: number;
  resolve: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * Simulated time: every duration in the model is in "PVE time" (what a real cluster would take);
 * `timeScale` makes it pass that many times faster in real time, keeping every ratio. Tests may
 * `pause()` it: the clock stands still and no sleep ends (a task holds its lock) until `resume()`.
 */
export class SimTime {
  /** Real ms at which simulated time was `#simOrigin`. */
  #realOrigin = Date.now();
  #simOrigin = this.#realOrigin;
  /** The simulated time the clock stands at while paused. */
  #pausedAt: number | undefined;
  readonly #sleepers = new Set<Sleeper>();
  #closed = false;

  constructor(readonly timeScale: number) {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  }

  /** Simulated milliseconds since the epoch. */
  now(): number {
    return this.#pausedAt ?? this.#simOrigin + (Date.now() - this.#realOrigin) * this.timeScale;
  }

  /** Simulated seconds since the epoch, as PVE reports times. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Whether `pause()` holds the clock. */
  get paused(): boolean {
    return this.#pausedAt !== undefined;
  }

  /** Resolves after `simMs` simulated milliseconds. Never resolves after `close()`. */
  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return;
      const sleeper: Sleeper = { wakeAt: this.now() + Math.max(0, simMs), resolve };
      this.#sleepers.add(sleeper);
      if (!this.paused) this.#schedule(sleeper);
    });
  }

  /** Stops simulated time: `now()` stands still and no sleep ends until `resume()`. */
  pause(): void {
    if (this.paused || this.#closed) return;
    this.#pausedAt = this.now();
    for (const sleeper of this.#sleepers) clearTimeout(sleeper.timer);
  }

  /** Lets simulated time run on from where `pause()` stopped it. */
  resume(): void {
    if (this.#pausedAt === undefined || this.#closed) return;
    this.#simOrigin = this.#pausedAt;
    this.#realOrigin = Date.now();
    this.#pausedAt = undefined;
    for (const sleeper of this.#sleepers) this.#schedule(sleeper);
  }

  /** Stops every pending timer (the simulator is shutting down). */
  close(): void {
    this.#closed = true;
    for (const sleeper of this.#sleepers) clearTimeout(sleeper.timer);
    this.#sleepers.clear();
  }

  #schedule(sleeper: Sleeper): void {
    sleeper.timer = setTimeout(
      () => {
        this.#sleepers.delete(sleeper);
        sleeper.resolve();
      },
      Math.max(0, (sleeper.wakeAt - this.now()) / this.timeScale),
    );
  }
}

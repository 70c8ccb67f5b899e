/**
 * The commands a front end has started and not yet finished, so it can wait for them on shutdown
 * (and tests can wait for a command's side effects after its HTTP request was acked).
 */
export class RunningCommands {
  readonly #running = new Set<Promise<void>>();
  readonly #onError: (error: unknown) => void;

  /** @param onError - told what a tracked command rejects with (it is not rethrown). */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Tracks `work` until it settles. */
  track(work: Promise<unknown>): void {
    const guarded = work.then(() => undefined, this.#onError);
    this.#running.add(guarded);
    void guarded.finally(() => this.#running.delete(guarded));
  }

  /** How many tracked commands have not settled yet. */
  get size(): number {
    return this.#running.size;
  }

  /** Settles when every command tracked so far, and any they started meanwhile, has finished. */
  async idle(): Promise<void> {
    while (this.#running.size) await Promise.all([...this.#running]);
  }
}

import type { ProgressUpdate } from './command-plugin.js';

/** Options of a {@link ProgressThrottle}. */
export interface ProgressThrottleOptions {
  /** Least time between two sends. 0 sends every update. */
  intervalMs: number;
  /** Shows one update (edits a chat message, rewrites a terminal line). Sends never overlap. */
  send(update: ProgressUpdate): Promise<unknown> | void;
  /** Told when a send fails; progress never fails the command. */
  onError(error: unknown): void;
}

/**
 * Rate-limits a command's progress for one place that shows it: the first update and a finished one
 * (`done === total`) go at once, later ones at most once per interval — and the last update of a
 * burst is always delivered when its interval ends (trailing edge), so a view never sits at "2/5"
 * after the fourth VM registered. Sends are chained, so they arrive in order.
 */
export class ProgressThrottle {
  readonly #options: ProgressThrottleOptions;
  #chain: Promise<unknown> = Promise.resolve();
  #lastSent: number | undefined;
  #pending: ProgressUpdate | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ProgressThrottleOptions) {
    this.#options = options;
  }

  /** Takes the newest progress (pass it as an `onProgress` handler). */
  readonly push = (update: ProgressUpdate): void => {
    this.#pending = update;
    const wait =
      this.#lastSent === undefined || update.done === update.total
        ? 0
        : this.#lastSent + this.#options.intervalMs - Date.now();
    if (wait <= 0) {
      this.#sendPending();
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.#sendPending(), wait);
    this.#timer.unref?.();
  };

  /**
   * Ends the progress: drops an update still waiting for its interval (the command's reply replaces
   * the progress) and settles when every update sent so far has been shown or has failed.
   */
  async stop(): Promise<void> {
    this.#clearTimer();
    this.#pending = undefined;
    await this.#chain;
  }

  #sendPending(): void {
    this.#clearTimer();
    const update = this.#pending;
    if (!update) return;
    this.#pending = undefined;
    this.#lastSent = Date.now();
    this.#chain = this.#chain
      .then(() => this.#options.send(update))
      .catch((error: unknown) => this.#options.onError(error));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

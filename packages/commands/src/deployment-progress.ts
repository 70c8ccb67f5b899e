import type { DeploymentEvent } from '@lab/proxmox-sdk';
import type { ProgressUpdate } from './command-plugin.js';

/** Options of {@link DeploymentProgress}. */
export interface DeploymentProgressOptions {
  /** What the bar is about (`cs101`, `reset cs101`). */
  label: string;
  /** Steps the bar counts up to. */
  total: number;
  /** Where updates go (the command's `ctx.progress`). */
  progress(update: ProgressUpdate): void;
  /**
   * The step an event completes, counted once per key; undefined for events that complete none.
   * @defaultValue every `registered` event is a step of its own
   */
  step?(event: DeploymentEvent): string | undefined;
}

/**
 * Turns a deployment's typed events into the progress updates every front end renders: the count of
 * finished steps, the clones under way with their percentage, and the VMs that failed so far.
 */
export class DeploymentProgress {
  readonly #options: DeploymentProgressOptions;
  readonly #counted = new Set<string>();
  readonly #cloning = new Map<string, number | undefined>();
  readonly #failed: Array<{ name?: string; reason: string }> = [];
  #registered = 0;
  #note: string | undefined;

  constructor(options: DeploymentProgressOptions) {
    this.#options = options;
  }

  /** Shows the bar at 0 before the first event, with `note` (`planned`, `copying`). */
  start(note?: string): void {
    this.#note = note;
    this.#emit();
  }

  /** Takes one deployment event (pass it as the engine's `onEvent`). */
  readonly onEvent = (event: DeploymentEvent): void => {
    switch (event.type) {
      case 'cloning':
        this.#cloning.set(event.name, event.percent);
        break;
      case 'verifying':
        if (this.#cloning.has(event.name)) this.#cloning.set(event.name, 100);
        break;
      case 'registered':
      case 'deleted': {
        this.#cloning.delete(event.name);
        const step = this.#options.step
          ? this.#options.step(event)
          : event.type === 'registered'
            ? `registered#${++this.#registered}`
            : undefined;
        if (step === undefined || this.#counted.has(step)) break;
        this.#counted.add(step);
        this.#note = event.name;
        break;
      }
      case 'failed':
        if (event.name) this.#cloning.delete(event.name);
        this.#failed.push({ ...(event.name ? { name: event.name } : {}), reason: event.reason });
        break;
      default:
        return;
    }
    this.#emit(event);
  };

  #emit(event?: DeploymentEvent): void {
    const { label, total } = this.#options;
    this.#options.progress({
      label,
      done: this.#counted.size,
      total,
      ...(this.#note ? { note: this.#note } : {}),
      ...(this.#cloning.size
        ? {
            cloning: [...this.#cloning].map(([name, percent]) =>
              percent === undefined ? { name } : { name, percent },
            ),
          }
        : {}),
      ...(this.#failed.length ? { failed: [...this.#failed] } : {}),
      ...(event ? { event } : {}),
    });
  }
}

/** Progress of a deployment; the same events drive Slack, Discord and the CLI. */
export type DeploymentEvent =
  | { type: 'planned'; deploymentId: string; classId: string; create: number; keep: number; delete: number }
  | { type: 'cloning'; deploymentId: string; name: string; node: string; vmid?: number; percent?: number }
  | { type: 'verifying'; deploymentId: string; name: string; vmid: number }
  | { type: 'registered'; deploymentId: string; name: string; vmid: number; node: string; adopted: boolean }
  | { type: 'deleted'; deploymentId: string; name: string; vmid: number }
  | { type: 'failed'; deploymentId: string; name?: string; reason: string; code?: string }
  | {
      type: 'done';
      deploymentId: string;
      status: 'done' | 'failed' | 'interrupted';
      created: number;
      kept: number;
      deleted: number;
      failed: number;
      durationMs: number;
    };

/** An async iterable fed by `push`, ended by `end` (for `for await` progress loops). */
export class EventChannel<T> implements AsyncIterable<T> {
  readonly #buffer: T[] = [];
  readonly #waiters: Array<(result: IteratorResult<T>) => void> = [];
  #ended = false;

  push(value: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter({ value, done: false });
    else this.#buffer.push(value);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.#buffer.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
    };
  }
}

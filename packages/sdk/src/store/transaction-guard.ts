import { AsyncLocalStorage } from 'node:async_hooks';
import { StoreInTransactionError } from './store-errors.js';

interface OpenTransaction {
  open: boolean;
}

/**
 * What a `Store` implementation uses to refuse calls to itself from inside its own open
 * transaction: `run` marks the transaction's callback (and everything it awaits) as inside,
 * `guard` wraps a repository so each of its methods throws `StoreInTransactionError` there.
 * Work the callback started without awaiting it is free again once the transaction ended.
 */
export class TransactionGuard {
  readonly #inside = new AsyncLocalStorage<OpenTransaction>();

  /** Runs `fn` as the body of one transaction of the guarded store. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const scope: OpenTransaction = { open: true };
    try {
      return await this.#inside.run(scope, fn);
    } finally {
      scope.open = false;
    }
  }

  /** Throws `StoreInTransactionError` when called from inside a transaction body of the guarded store. */
  assertOutside(call: string): void {
    if (this.#inside.getStore()?.open) throw new StoreInTransactionError(call);
  }

  /** `repo` with every method checking {@link TransactionGuard.assertOutside} first (as `name.method`). */
  guard<T extends object>(repo: T, name: string): T {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(repo)) {
      out[key] =
        typeof value === 'function'
          ? (...args: unknown[]) => {
              try {
                this.assertOutside(`${name}.${key}`);
              } catch (error) {
                return Promise.reject(error);
              }
              return (value as (...a: unknown[]) => unknown).apply(repo, args);
            }
          : value;
    }
    return out as T;
  }
}

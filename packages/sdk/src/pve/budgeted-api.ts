import type { PveApi, PveParams, PveRequestOptions } from '../ports/pve-api.js';
import type { RetryBudget } from '../ports/retry-budget.js';

const ROOT = Symbol('lab.pveApi.root');

interface Budgeted extends PveApi {
  readonly [ROOT]: PveApi;
}

function isBudgeted(api: PveApi): api is Budgeted {
  return ROOT in api;
}

/**
 * The API `api` wraps (itself when it wraps none): the identity per-cluster state (the VMID
 * allocator's reservations) is kept under. A wrapper carries no budget to be found: the domain
 * code that needs a deployment's `RetryBudget` is handed it.
 */
export function rootApi(api: PveApi): PveApi {
  return isBudgeted(api) ? api[ROOT] : api;
}

/**
 * `api` with every call charged to `budget` (unless a call passes its own): what a deployment
 * hands to the domain code so all its requests share one retry budget.
 */
export function withRetryBudget(api: PveApi, budget: RetryBudget): PveApi {
  const root = rootApi(api);
  const charge = <T>(options: PveRequestOptions<T> | undefined): PveRequestOptions<T> => ({
    retryBudget: budget,
    ...options,
  });
  const wrapped: Budgeted = {
    [ROOT]: root,
    clusterId: root.clusterId,
    get: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      root.get<T>(path, params, charge(options)),
    post: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      root.post<T>(path, params, charge(options)),
    put: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      root.put<T>(path, params, charge(options)),
    delete: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      root.delete<T>(path, params, charge(options)),
  };
  return wrapped;
}

/**
 * `api` (its retry budget kept) whose reads are retried after any HTTP 500 but a definite "does not
 * exist" (`retryServerErrors`), under the client's retry policy: what a base replica reads through,
 * since one failed read there fails every student planned on that node.
 */
export function withServerErrorRetries(api: PveApi): PveApi {
  const root = rootApi(api);
  const wrapped: Budgeted = {
    [ROOT]: root,
    clusterId: root.clusterId,
    get: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      api.get<T>(path, params, { retryServerErrors: true, ...options }),
    post: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) => api.post<T>(path, params, options),
    put: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) => api.put<T>(path, params, options),
    delete: <T>(path: string, params?: PveParams, options?: PveRequestOptions<T>) =>
      api.delete<T>(path, params, options),
  };
  return wrapped;
}

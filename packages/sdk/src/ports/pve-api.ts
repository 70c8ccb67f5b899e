import type { ZodType } from 'zod';
import type { RetryBudget } from './retry-budget.js';

/** A value PVE accepts as a parameter; booleans are sent as 0/1, arrays as repeated keys. */
export type PveParamValue = string | number | boolean | readonly (string | number)[] | null | undefined;

/** Parameters of one PVE call; `undefined` and `null` entries are left out. */
export type PveParams = Readonly<Record<string, PveParamValue>>;

/** Per-call options. */
export interface PveRequestOptions<T = unknown> {
  /** Validates `data`; a mismatch throws `PveResponseShapeError` naming the field. */
  schema?: ZodType<T>;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
  /**
   * Whether repeating the call is harmless, which allows retries after the request was sent.
   * @defaultValue `true` for GET, `false` otherwise
   */
  idempotent?: boolean;
  /**
   * Retries of this call are taken from this shared budget (and its per-request cap replaces the
   * client's `retry.maxAttempts`); when it is spent the error is thrown at once.
   */
  retryBudget?: RetryBudget;
  /**
   * Retry an idempotent call after any HTTP 500 too, not only the ones PVE words as passing (a lock
   * timeout), unless PVE says the object does not exist: for work one failed read would undo, such
   * as a base replica. @defaultValue `false`
   */
  retryServerErrors?: boolean;
}

/**
 * The port the domain uses to speak to one Proxmox VE cluster. Paths are relative to
 * `/api2/json` (e.g. `/nodes/pve1/qemu`). Domain code calls PVE through the typed resource layer
 * (`pveResources`), which builds escaped paths and owns response schemas and idempotency.
 */
export interface PveApi {
  /** The configured id of the cluster this API talks to. */
  readonly clusterId: string;
  get<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T>;
  post<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T>;
  put<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T>;
  delete<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T>;
}

import { PveConnectionError, PveHttpError, PveTimeoutError } from '../errors/pve-errors.js';

/** Statuses that mean "the node or proxy could not serve this now" (59x are pveproxy's own). */
const TRANSIENT_STATUSES = new Set([502, 503, 504, 595, 596, 599]);

/** PVE 500 texts that describe a passing condition rather than a wrong request. */
const TRANSIENT_500 =
  /got timeout|lock request timeout|can't lock|temporar|try again|cluster filesystem not online|connection/i;

/** PVE 500 texts that are a definite answer (the object is not there), never worth repeating. */
const DEFINITE_500 = /does not exist|no such/i;

/**
 * Whether `error` may be retried (with `serverErrors`, an idempotent call after any 500 but a
 * definite "does not exist"). Idempotent calls (GETs by default) are retried after timeouts,
 * resets and transient 5xx; any call is retried when the request provably never reached PVE
 * (connection refused, or reset before it was written, or 595 "connection establishment").
 * A POST that may have taken effect is never retried blindly.
 */
export function isRetryable(error: unknown, idempotent: boolean, options: { serverErrors?: boolean } = {}): boolean {
  if (error instanceof PveConnectionError) return !error.requestSent || idempotent;
  if (error instanceof PveTimeoutError) return idempotent;
  if (error instanceof PveHttpError) {
    if (error.status === 595) return true;
    if (!idempotent) return false;
    if (TRANSIENT_STATUSES.has(error.status)) return true;
    if (error.status !== 500) return false;
    if (options.serverErrors) return !DEFINITE_500.test(error.pveMessage);
    return error.pveMessage === '' || TRANSIENT_500.test(error.pveMessage);
  }
  return false;
}

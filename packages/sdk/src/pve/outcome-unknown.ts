import { PveConnectionError, PveHttpError, PveTimeoutError } from '../errors/pve-errors.js';

/** Proxy and gateway statuses after which a write may or may not have been carried out. */
const UNCERTAIN_STATUSES = new Set([502, 503, 504, 596, 599]);

/**
 * Whether a failed write may or may not have taken effect: the request was sent, and the answer
 * was lost (reset, timeout) or came from a proxy rather than from PVE's handler.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (error instanceof PveConnectionError) return error.requestSent;
  if (error instanceof PveTimeoutError) return true;
  return error instanceof PveHttpError && UNCERTAIN_STATUSES.has(error.status);
}

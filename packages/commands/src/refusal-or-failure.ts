import { isLabError } from '@lab/proxmox-sdk';

/**
 * Codes of errors that mean something failed (Proxmox, the store, the network, a clone) rather
 * than that the user asked for something the lab refuses. Everything else an SDK error says is a
 * refusal the user can act on.
 */
const FAILURE_CODES = new Set([
  'LAB_CERT_NOT_TRUSTED',
  'LAB_CLONE_MISSING_DISK',
  'LAB_CLONE_OUTCOME_UNKNOWN',
  'LAB_CLONE_TIMEOUT',
  'LAB_CONFIG',
  'LAB_CONSOLE_VNC_HANDSHAKE',
  'LAB_STORE_CORRUPT_DATA',
  'LAB_STORE_DRIVER_MISSING',
  'LAB_STORE_OUTER_IN_TRANSACTION',
  'LAB_STORE_UNAVAILABLE',
  'LAB_UNKNOWN_CLUSTER',
  'LAB_VMID_ALLOCATION',
]);

/**
 * True when a command's error is a refusal (not allowed, over quota, an invalid key): logged at
 * info, since nothing is broken. Errors that are not the SDK's, and PVE, store or clone failures,
 * are failures (logged at error).
 */
export function isRefusal(error: unknown): boolean {
  return isLabError(error) && !error.code.startsWith('LAB_PVE_') && !FAILURE_CODES.has(error.code);
}

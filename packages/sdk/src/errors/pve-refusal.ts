import { LabError } from './lab-error.js';
import { PveHttpError, PveTaskFailedError } from './pve-errors.js';

/** What PVE refused, the same whether it answered at once (HTTP 500) or ended a task with it. */
export type PveRefusalReason =
  | 'guest-locked'
  | 'guest-running'
  | 'guest-is-template'
  | 'start-failed'
  | 'base-volume-in-use'
  | 'vmid-taken'
  | 'lock-timeout'
  | 'linked-clone-unsupported'
  | 'clone-target-not-shared';

/**
 * PVE's texts, from qemu-server `src/PVE/API2/Qemu.pm` (destroy_vm, clone_vm, vm_start) and
 * `src/PVE/QemuServer.pm` (destroy_vm, vm_start, vm_start_nolock), pve-guest-common `check_lock`,
 * pve-common `PVE::Tools::lock_file_full` and `PVE::File::file_set_contents`, pve-cluster `cfs_lock`.
 */
const PATTERNS: ReadonlyArray<readonly [PveRefusalReason, RegExp, string]> = [
  ['guest-locked', /^VM is locked \(/, 'wait until the operation holding the lock has finished, then try again'],
  [
    'guest-running',
    /^VM \d+ (already running|is running - destroy failed)/,
    'the VM is running; stop it first if it should not be',
  ],
  ['guest-is-template', /^you can't start a vm if it's a template/, 'a template cannot be started; clone it instead'],
  ['start-failed', /^start failed: /, 'the node could not start it (often memory); try another node or later'],
  [
    'base-volume-in-use',
    /^base volume '[^']*' is still in use by linked clone/,
    'a linked clone still uses this template; it is kept',
  ],
  [
    'vmid-taken',
    /already exists|^close \(rename\) atomic file '[^']*\/qemu-server\/\d+\.conf' failed: File exists/,
    'the VMID was taken meanwhile; try again with a fresh one',
  ],
  [
    'lock-timeout',
    /can't lock file|cfs-lock '[^']*' error|lock request timeout|-locked command timed out/,
    'another operation held a lock PVE needed; try again shortly',
  ],
  [
    'linked-clone-unsupported',
    /Linked clone feature is not supported/,
    "this storage cannot hold a linked clone of it; use a full clone (mode 'auto' or 'full')",
  ],
  [
    'clone-target-not-shared',
    /^can't clone to non-shared storage|^can't clone VM to node '[^']*' \(VM uses local storage\)/,
    'clone on the node that holds the disks, then migrate, or use shared storage',
  ],
];

const codeOf = (reason: PveRefusalReason): string =>
  `${PveRefusedError.code}_${reason.toUpperCase().replace(/-/g, '_')}`;

/**
 * PVE refused an operation for a reason the SDK acts on. The code (`LAB_PVE_REFUSED_<REASON>`,
 * e.g. `LAB_PVE_REFUSED_GUEST_LOCKED`) is the same whether PVE refused the request at once or
 * accepted it and ended its task with the error, as PVE 9 does for most checks; `cause` is the
 * `PveHttpError` or `PveTaskFailedError` it was read from.
 */
export class PveRefusedError extends LabError {
  /** The prefix of this class's codes: each error carries `LAB_PVE_REFUSED_<REASON>`. */
  static override readonly code: string = 'LAB_PVE_REFUSED';
  readonly reason: PveRefusalReason;
  /** PVE's own text (the HTTP reason phrase or the task's exit status). */
  readonly pveMessage: string;
  /** The task that ended with the refusal, when PVE accepted the request first. */
  readonly upid: string | undefined;

  constructor(
    facts: { clusterId: string; reason: PveRefusalReason; pveMessage: string; upid?: string; advice: string },
    options?: { cause?: unknown },
  ) {
    const { advice, ...data } = facts;
    super(codeOf(facts.reason), `Proxmox refused: ${facts.pveMessage} — ${advice}`, data, options);
    this.reason = facts.reason;
    this.pveMessage = facts.pveMessage;
    this.upid = facts.upid;
  }
}

/**
 * The one place PVE's refusals are read: a `PveHttpError` (HTTP 500) or a `PveTaskFailedError`
 * whose text is a known refusal becomes the same `PveRefusedError`; anything else is undefined.
 * A `PveRefusedError` is returned as it is.
 */
export function classifyPveFailure(error: unknown): PveRefusedError | undefined {
  if (error instanceof PveRefusedError) return error;
  let text: string;
  let facts: { clusterId: string; upid?: string };
  if (error instanceof PveTaskFailedError) {
    text = error.exitstatus;
    facts = { clusterId: typeof error.data.clusterId === 'string' ? error.data.clusterId : '', upid: error.upid };
  } else if (error instanceof PveHttpError && error.status === 500) {
    text = error.pveMessage;
    facts = { clusterId: error.clusterId };
  } else return undefined;
  const pveMessage = text.trim();
  const match = PATTERNS.find(([, pattern]) => pattern.test(pveMessage));
  if (!match) return undefined;
  return new PveRefusedError({ ...facts, reason: match[0], pveMessage, advice: match[2] }, { cause: error });
}

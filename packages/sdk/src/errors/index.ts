// @lab/proxmox-sdk/errors: every error class the SDK throws, one stable `code` each (ERRORS.md).
// Most callers need only `isLabError(e)` and `e.code` from the root; import a class from here to
// tell one error apart with `instanceof` or to throw it yourself. Listed in test/public-surface.test.ts.
export { LabError, isLabError } from './lab-error.js';
export {
  ConfigError,
  InvalidUpidError,
  PveAuthError,
  PveConnectionError,
  PveHttpError,
  PvePermissionError,
  PveResponseShapeError,
  PveResponseTooLargeError,
  PveTaskFailedError,
  PveTaskTimeoutError,
  PveTimeoutError,
  PveTlsError,
  UnknownClusterError,
} from './pve-errors.js';
export { PveRefusedError } from './pve-refusal.js';
export * from '../store/store-errors.js';
export * from '../templates/template-errors.js';
export * from '../cloning/clone-errors.js';
export { MigrationNotPossibleError } from '../cloning/migrate-vm.js';
export { CloneOutcomeUnknownError } from '../pve/clone-outcome-error.js';
export { InvalidTagError } from '../pve/pve-tags.js';
export { InvalidDeploymentError } from '../deploy/class-spec.js';
export { InsufficientCapacityError } from '../deploy/placement.js';
export { ClassPinError } from '../deploy/class-pin.js';
export { VmResetError } from '../deploy/vm-reset.js';
export {
  DeleteConfirmationRequiredError,
  DeploymentInProgressError,
  PlanChangedError,
  VmNameConflictError,
} from '../deploy/deployment-errors.js';
export { TerraformExportError } from '../terraform/export-terraform.js';
export { NotAllowedError, UnconfirmedEmptyClusterError, UnknownVmError } from '../inventory/inventory-errors.js';
export {
  SnapshotBusyError,
  SnapshotLimitError,
  SnapshotNameError,
  SnapshotNotFoundError,
  SnapshotNotNewestError,
  SnapshotProtectedError,
  SnapshotUnsupportedError,
} from '../inventory/snapshot-errors.js';
export { GuestAgentUnavailableError } from '../inventory/guest-password-errors.js';
export { InvalidEndDateError } from '../schedule/term-dates.js';
export { ClassClosedError, ClassEndedError, ClassHasVmsError, TermNotOverError } from '../schedule/term-errors.js';
export { ClassStartLockBusyError, InvalidScheduleError } from '../schedule/schedule-errors.js';
export {
  KeepAfterQuotaError,
  KeepAlreadyUsedError,
  KeepNotAllowedError,
  NothingToKeepError,
} from '../schedule/keep-running.js';
export { ClassRunningLimitError, QuotaExceededError, TooManyRunningError } from '../schedule/usage.js';
export { NoQuotaToTopUpError, TopUpAmountError } from '../schedule/quota-top-up.js';
export * from '../people/people-errors.js';
export * from '../people/link-code-errors.js';
export { InviteAlreadyUsedError } from '../people/invites.js';
export { PrivateKeyGivenError } from '../people/private-key.js';
export { InvalidSshKeyError } from '../people/ssh-keys.js';
export { InvalidDisplayNameError } from '../people/display-name.js';
export * from '../directory/directory-errors.js';
export * from '../console/console-errors.js';
export * from '../network/network-errors.js';

// The public surface of @lab/proxmox-sdk. Every name here is a promise to callers: change it
// deliberately (test/public-surface.test.ts lists them all). Test doubles live in ./testing.

// Errors: one LabError root, one stable code per class (ERRORS.md).
export { LabError, isLabError } from './errors/lab-error.js';
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
  type PveRequestFacts,
} from './errors/pve-errors.js';
export { PveRefusedError, classifyPveFailure, type PveRefusalReason } from './errors/pve-refusal.js';

// Ports: what the domain needs from the outside world.
export { systemClock, type Clock } from './ports/clock.js';
export {
  createLogger,
  silentLogger,
  type CreateLoggerOptions,
  type LogFields,
  type LogLevel,
  type Logger,
  type LogRecord,
} from './ports/logger.js';
export type { LabObserver, PveRequestRecord } from './ports/lab-observer.js';
export type * from './ports/pve-api.js';
export type * from './ports/cluster-apis.js';
export { createTcpPortProbe, type PortProbe, type TcpPortProbeOptions } from './ports/port-probe.js';
export { silentNotifier, type NotifiedPerson, type PersonNotifier } from './ports/person-notifier.js';
export { everyPlatformNotifier } from './people/every-platform-notifier.js';
export { redact, scrub } from './util/redact.js';
export { MAX_TIMER_MS, TIMER_MS_MESSAGE } from './util/timer-limit.js';

// The Proxmox client.
export { ProxmoxClient, type PveVersion } from './client/proxmox-client.js';
export * from './client/client-options.js';
export * from './client/clusters.js';
export { pvePath } from './pve/pve-path.js';
export { checkPeer as checkPveTlsPeer, normalizeFingerprint, type PveTlsOptions } from './client/tls-connector.js';
export { parseUpid, type Upid } from './tasks/upid.js';
export { waitForTask, type TaskResult, type WaitForTaskOptions } from './tasks/wait-for-task.js';

// The Store port: persistence by concern, with its errors and the guard every engine uses.
export type * from './store/records.js';
export type * from './store/store.js';
export * from './store/store-errors.js';
export { TransactionGuard } from './store/transaction-guard.js';

// Templates.
export * from './templates/template-errors.js';
export { LabTemplate } from './templates/lab-template.js';
export {
  TemplateCatalog,
  type MappingIssue,
  type NodeMappingInput,
  type TemplateCatalogDeps,
  type TemplateInput,
} from './templates/template-catalog.js';
export {
  scanTemplateInventory,
  templateDistribution,
  templateStatistics,
  type TemplateScanReport,
  type TemplateStatistics,
} from './templates/template-inventory.js';
export {
  checkTemplateHealth,
  startTemplateHealthChecks,
  type TemplateHealthProblem,
  type TemplateHealthReport,
} from './templates/template-health.js';
export { replicateTemplate, type ReplicaResult, type ReplicateOptions } from './templates/replicate-template.js';
export { TemplateScanSchedule, type TemplateScanScheduleOptions } from './templates/template-scan-schedule.js';

// Cloning one VM.
export * from './cloning/clone-errors.js';
export {
  cloneVm,
  type CloneMode,
  type CloneProgress,
  type CloneResult,
  type CloneVmOptions,
} from './cloning/clone-vm.js';

// Deployments: plan, apply, reset, publish.
export {
  classSpecSchema,
  parseClassSpec,
  InvalidDeploymentError,
  type ClassSpec,
  type ClassSpecInput,
} from './deploy/class-spec.js';
export {
  InsufficientCapacityError,
  type NodeCapacity,
  type NodeExplanation,
  type PlacementOptions,
  type PlacementStrategy,
} from './deploy/placement.js';
export type { ClassPlan, PlannedVm, PlanDeps } from './deploy/plan-class.js';
export type { RequiredPrivilege } from './deploy/permission-preflight.js';
export { guestAgentPrivilege, labPrivilegeRequirements, type PrivilegeRequirement } from './access/pve-privileges.js';
export { missingPrivileges, type PermissionAnswer } from './access/privilege-grants.js';
export { LabDoctor, type LabDoctorOptions } from './doctor/lab-doctor.js';
export { doctorReport, type DoctorCheck, type DoctorReport } from './doctor/doctor-report.js';
export { EventChannel, type DeploymentEvent } from './deploy/deployment-events.js';
export { DefaultDeploymentLimits, type DeploymentLimits } from './deploy/deployment-limits.js';
export type { BaseVersionCopies } from './deploy/base-versions.js';
export { studentCloudInit, type StudentCloudInit } from './deploy/cloud-init.js';
export { VmResetError, type ConfigureStudentVm, type ResetPlan, type ResetVm } from './deploy/vm-reset.js';
export { resetsUnderWay, type ResetUnderWay } from './deploy/resets-under-way.js';
export type { BaseVersionUsage, PublishMode, PublishPlan } from './deploy/publish-base.js';
export {
  DeploymentEngine,
  type ApplyOptions,
  type DeploymentEngineDeps,
  type DeploymentHandle,
  type ResumeOptions,
} from './deploy/deployment-engine.js';
export type { PublishRequest } from './deploy/plan-publish.js';
export type { ResetRequest } from './deploy/plan-reset.js';
export type { DeploymentSummary, SummaryVm } from './deploy/deployment-summary.js';
export {
  DeleteConfirmationRequiredError,
  DeploymentInProgressError,
  PlanChangedError,
  VmNameConflictError,
} from './deploy/deployment-errors.js';
export {
  describeTerraformWorkspace,
  exportTerraform,
  TerraformExportError,
  writeTerraformWorkspace,
  type TerraformClassVm,
  type TerraformEndpoint,
  type TerraformExportRequest,
  type TerraformExportResult,
  type TerraformWorkspace,
  type TerraformWorkspaceRequest,
} from './terraform/export-terraform.js';

// Inventory, sync and power.
export { NotAllowedError, UnconfirmedEmptyClusterError, UnknownVmError } from './inventory/inventory-errors.js';
export { SyncEngine, type SyncEngineOptions } from './inventory/sync-engine.js';
export type { ClusterSyncReport } from './ports/lab-observer.js';
export {
  InventoryService,
  type ListVmsQuery,
  type ListVmsResult,
  type SyncStats,
} from './inventory/inventory-service.js';
export { clusterAnswerMaxAgeMs, clusterReadiness, type ClusterSyncFacts } from './inventory/cluster-readiness.js';
export { VmPower, type PowerAction, type VmPowerDeps } from './schedule/vm-power.js';
export { classesTaughtBy, type Viewer } from './inventory/viewer.js';

// Schedules, quotas and time limits.
export {
  ClassScheduler,
  DEFAULT_IDLE_WARNING_MINUTES,
  type ClassSchedulerOptions,
  type ScheduledAction,
} from './schedule/class-scheduler.js';
export {
  archiveClass,
  assertClassDeployable,
  confirmTermDestroy,
  destroyRefusal,
  setClassEnd,
  termVms,
} from './schedule/class-term.js';
export { InvalidEndDateError, graceEndsAt, termEndsAt } from './schedule/term-dates.js';
export { ClassClosedError, ClassEndedError, ClassHasVmsError, TermNotOverError } from './schedule/term-errors.js';
export { ClassStartLockBusyError, InvalidScheduleError } from './schedule/schedule-errors.js';
export {
  DEFAULT_START_LOCK_WAIT_MS,
  classStartLockName,
  withClassStartLock,
  type ClassStartLockOptions,
} from './schedule/class-start-lock.js';
export {
  DEFAULT_LEASE_TTL_MS,
  leaseHolderId,
  whileHoldingLease,
  type LeaseHeartbeatOptions,
} from './store/lease-heartbeat.js';
export { checkNewSchedule, type ScheduleCheck } from './schedule/schedule-check.js';
export {
  DEFAULT_KEEPS_PER_SESSION,
  KeepAlreadyUsedError,
  KeepAfterQuotaError,
  KeepNotAllowedError,
  NothingToKeepError,
  keepVmRunning,
} from './schedule/keep-running.js';
export {
  ClassRunningLimitError,
  QuotaExceededError,
  TooManyRunningError,
  classUsage,
  formatHours,
  outsideSessionMs,
  studentUsage,
  type StudentUsage,
} from './schedule/usage.js';
export {
  NoQuotaToTopUpError,
  TopUpAmountError,
  parseTopUpHours,
  topUpQuota,
  type TopUpOutcome,
} from './schedule/quota-top-up.js';
export { costOf, costRatesSchema, formatCost, type CostRates, type ResourceHours } from './schedule/usage-cost.js';
export { DEFAULT_AUDIT_RETENTION_DAYS } from './audit/audit-retention.js';
export {
  assertDate,
  assertTimeZone,
  currentSession,
  describeSchedule,
  nextSession,
  parseMinutes,
  parseScheduleSpec,
  type ClassSession,
  type ScheduleSpec,
} from './schedule/schedule-spec.js';
export { classTimeZone, formatLocalTime } from './schedule/local-time.js';

// People: accounts, invites, SSH keys, rosters.
export * from './people/people-errors.js';
export {
  USERNAME,
  builtinIdentityFormats,
  chatAccountId,
  discordIdentity,
  slackIdentity,
  type ChatPlatform,
  type IdentityFormat,
} from './people/chat-accounts.js';
export { IDENTITY_PLATFORM_ID, assertIdentityPlatformId, isIdentityPlatformId } from './store/identity-platform.js';
export {
  createInvite,
  joinWithInvite,
  DefaultInviteOptions,
  InviteAlreadyUsedError,
  type CreatedInvite,
  type JoinRequest,
  type JoinResult,
} from './people/invites.js';
export { linkChatAccount, type LinkRequest, type LinkResult } from './people/link-chat-account.js';
export { looksLikePrivateKey, PrivateKeyGivenError } from './people/private-key.js';
export { unlinkChatAccount, type UnlinkRequest } from './people/unlink-chat-account.js';
export { JOIN_REQUEST_TTL_MS, decideJoinRequest, decidesJoinsOf, type JoinDecision } from './people/join-requests.js';
export { classGrid, weekStart, type ClassGrid, type ClassGridRow } from './schedule/class-grid.js';
export {
  describeLastAction,
  lastPowerActions,
  type GridLastAction,
  type LastActionCause,
} from './inventory/last-power-action.js';
export {
  VmSnapshots,
  type ClassSnapshotOutcome,
  type VmSnapshot,
  type VmSnapshotsDeps,
} from './inventory/vm-snapshots.js';
export {
  SnapshotBusyError,
  SnapshotLimitError,
  SnapshotNameError,
  SnapshotNotFoundError,
  SnapshotNotNewestError,
  SnapshotProtectedError,
  SnapshotUnsupportedError,
} from './inventory/snapshot-errors.js';
export { DEFAULT_MAX_SNAPSHOTS } from './store/snapshot-limit.js';
export { GuestPasswords, type GuestPasswordsDeps } from './inventory/guest-password.js';
export { GuestAgentUnavailableError, type AgentUnavailableReason } from './inventory/guest-password-errors.js';
export {
  issueLinkCode,
  redeemLinkCode,
  DefaultLinkCodeOptions,
  LINK_CODE_AUDIT_ACTION,
  LINK_ME_AUDIT_ACTION,
  type IssuedLinkCode,
  type LinkCodeResult,
  type RedeemLinkCodeRequest,
} from './people/link-codes.js';
export * from './people/link-code-errors.js';
export type * from './store/link-code-repository.js';
export type * from './store/class-term-repository.js';
export {
  addSshKey,
  removeSshKey,
  parseSshPublicKey,
  InvalidSshKeyError,
  type SshPublicKey,
} from './people/ssh-keys.js';
export { cleanDisplayName, DISPLAY_NAME_MAX, InvalidDisplayNameError } from './people/display-name.js';
export {
  importRoster,
  rosterColumns,
  type RosterImportReport,
  type RosterProblem,
  type RosterRow,
  type RosterRowPlan,
} from './people/roster-import.js';
export { unenrolStudent, type FreedSeat } from './people/unenrol-student.js';
export { exportRosterCsv, toCsv } from './people/roster-export.js';

// Class lists from the school's directory: group mapping (LDAP sync and OpenID Connect sign-in).
export * from './directory/directory-errors.js';
export {
  directoryConfigSchema,
  directoryGroupsSchema,
  groupGrantSchema,
  isLoopbackHost,
  ldapConfigSchema,
  type DirectoryConfig,
  type DirectoryGroupsConfig,
  type GroupGrantConfig,
  type LdapConfig,
} from './directory/directory-config.js';
export { GroupMapping, normalizeDn, type GroupGrant } from './directory/group-mapping.js';
export {
  cleanDirectoryPerson,
  type CleanDirectoryPerson,
  type DirectoryPersonInput,
} from './directory/directory-person.js';
export {
  applyEnrolmentPlans,
  enrolFromGroups,
  loadRosterView,
  planPersonEnrolment,
  type AppliedChange,
  type EnrolmentChange,
  type GroupEnrolmentResult,
  type PersonEnrolmentPlan,
  type RosterView,
} from './directory/group-enrolment.js';
export type { DirectoryRead, DirectorySource } from './directory/directory-source.js';
export {
  LdapDirectory,
  LDAP_MATCHING_RULE_IN_CHAIN,
  escapeFilterValue,
  type LdapDirectoryOptions,
} from './directory/ldap-directory.js';
export {
  DIRECTORY_ACTOR,
  runDirectorySync,
  type DirectoryChangeCounts,
  type DirectorySyncDeps,
  type DirectorySyncReport,
} from './directory/directory-sync.js';
export {
  DIRECTORY_LEASE,
  DirectoryService,
  type DirectoryServiceOptions,
  type DirectoryStatus,
} from './directory/directory-service.js';

// --- The typed Proxmox resource layer and the retry budget (issue 14, part A) ---
export { pveResources, type PveResources } from './pve/pve-resources.js';
export { PveCluster, CLUSTER_RESOURCES_PATH } from './pve/cluster-resource.js';
export { PveNodes } from './pve/nodes-resource.js';
export { PveQemu } from './pve/qemu-resource.js';
export { PveLxc } from './pve/lxc-resource.js';
export { PveTasks } from './pve/tasks-resource.js';
export { PveStorage } from './pve/storage-resource.js';
export { PveAccess } from './pve/access-resource.js';
export { CloneOutcomeUnknownError } from './pve/clone-outcome-error.js';
export { InvalidTagError } from './pve/pve-tags.js';
export { MigrationNotPossibleError } from './cloning/migrate-vm.js';
export { isOutcomeUnknown } from './pve/outcome-unknown.js';
export { endpointPath, type PveEndpoint } from './pve/pve-endpoint.js';
export {
  clusterResourceSchema,
  guestConfigSchema,
  type AgentInterfaces,
  type ClusterResourceEntry,
  type GuestConfig,
  type GuestEntry,
  type NodeEntry,
  type PermissionMap,
  type QemuStatus,
  type VncProxyTicket,
  type StorageEntry,
  type TaskLogLine,
  type TaskStatus,
} from './pve/pve-schemas.js';
export type * from './pve/generated/pve-api-types.js';
export { RetryBudget, type RetryBudgetOptions } from './ports/retry-budget.js';
export { withRetryBudget } from './pve/budgeted-api.js';

// The browser console: one-time links, the VNC relay, session watching.
export * from './console/console-errors.js';
export { hashConsoleToken, isConsoleToken } from './console/console-token.js';
export {
  ConsoleGrants,
  DefaultConsoleOptions,
  type ConsoleGrant,
  type ConsoleGrantsDeps,
  type ConsoleRequester,
  type IssuedConsoleLink,
} from './console/console-grants.js';
export {
  ConsoleSessionLimits,
  DefaultConsoleLimits,
  type ConsoleLimits,
  type HeldConsoleSlots,
} from './console/console-limits.js';
export type * from './store/console-grant-repository.js';
export type * from './store/web-session-repository.js';
export { auditConsole } from './console/console-audit.js';
export {
  watchConsoleSession,
  CONSOLE_END_MESSAGES,
  type ConsoleEndReason,
  type ConsoleWatchDeps,
} from './console/console-watch.js';
export {
  relayVncConsole,
  type ConsoleOutcome,
  type VncConsoleEnds,
  type VncConsoleRelayDeps,
  type VncConsoleSession,
} from './console/vnc-console-relay.js';

export * from './errors/lab-error.js';
export * from './errors/pve-errors.js';
export * from './ports/clock.js';
export * from './ports/logger.js';
export { notifyObserver, pveEndpointTemplate, type LabObserver, type PveRequestRecord } from './ports/lab-observer.js';
export type * from './ports/pve-api.js';
export * from './client/proxmox-client.js';
export * from './client/client-options.js';
export * from './client/clusters.js';
export { pvePath } from './client/pve-path.js';
export { encodePveParams } from './client/form-encoding.js';
export { normalizeFingerprint, type PveTlsOptions } from './client/tls-connector.js';
export { ConcurrencyLimiter } from './client/concurrency-limiter.js';
export { backoffDelay, type BackoffOptions } from './client/backoff.js';
export { isRetryable } from './client/retry-policy.js';
export * from './tasks/upid.js';
export * from './tasks/wait-for-task.js';
export { parseProgressPercent } from './tasks/task-progress.js';
export { redact, scrub, REDACTED } from './util/redact.js';
export { MAX_TIMER_MS, TIMER_MS_MESSAGE, assertTimerMs } from './util/timer-limit.js';
export type * from './store/records.js';
export type * from './store/store.js';
export * from './store/store-errors.js';
export { createMemoryStore } from './store/memory-store.js';
export type * from './ports/cluster-apis.js';
export * from './cloning/clone-errors.js';
export { findBootDisk, type BootDisk } from './cloning/boot-disk.js';
export { allocateVmid, type VmidReservation } from './cloning/vmid-allocator.js';
export { cloneVm, waitForCloneLock, type CloneMode, type CloneProgress, type CloneResult, type CloneVmOptions } from './cloning/clone-vm.js';
export * from './templates/template-errors.js';
export { LabTemplate } from './templates/lab-template.js';
export { TemplateCatalog, type MappingIssue, type NodeMappingInput, type TemplateCatalogDeps, type TemplateInput } from './templates/template-catalog.js';
export { checkTemplateVm, type TemplateVmCheck } from './templates/check-template-vm.js';
export { scanTemplateInventory, templateStatistics, templateDistribution, listVmResources, tagsOf, vmResourceSchema, type TemplateScanReport, type TemplateStatistics, type VmResource } from './templates/template-inventory.js';
export { checkTemplateHealth, startTemplateHealthChecks, type TemplateHealthProblem, type TemplateHealthReport } from './templates/template-health.js';
export { replicateTemplate, replicaTag, type ReplicaResult, type ReplicateOptions } from './templates/replicate-template.js';
export { nodeTemplateVmid } from './templates/node-template-vmid.js';
export { mapWithConcurrency } from './util/map-with-concurrency.js';
export { categoryOf, driveSizeBytes, inventoryRowFromConfig } from './inventory/inventory-row.js';
export { explainPlacement, placeVms, InsufficientCapacityError, type NodeCapacity, type NodeExplanation, type PlacementOptions, type PlacementStrategy } from './deploy/placement.js';
export { classSpecSchema, parseClassSpec, InvalidDeploymentError, studentVmName, seatVmName, teacherVmName, baseVmName, classTags, type ClassSpec, type ClassSpecInput } from './deploy/class-spec.js';
export { planClass, type ClassPlan, type PlannedVm, type PlanDeps } from './deploy/plan-class.js';
export { assertPrivileges, grants, privilegesForPlan, type RequiredPrivilege } from './deploy/permission-preflight.js';
export { EventChannel, type DeploymentEvent } from './deploy/deployment-events.js';
export { DefaultDeploymentLimits, type DeploymentLimits } from './deploy/deployment-limits.js';
export { baseVersionName, baseVersionOf, classBaseVersions, currentBaseVersion, type BaseVersionCopies } from './deploy/base-versions.js';
export { cloudInitStep, decodeSshKeys, encodeSshKeys, hasCloudInitDrive, studentCloudInit, type StudentCloudInit } from './deploy/cloud-init.js';
export { addSshKey, removeSshKey, InvalidSshKeyError, parseSshPublicKey, sshKeyRecord, SSH_KEY_TYPES, type SshPublicKey } from './people/ssh-keys.js';
export { isResetPlan, VmResetError, type ConfigureStudentVm, type ResetPlan, type ResetVm } from './deploy/vm-reset.js';
export { baseVersionUsage, isPublishPlan, type BaseVersionUsage, type PublishMode, type PublishPlan } from './deploy/publish-base.js';
export { DeploymentEngine, type PublishRequest, type ResetRequest, type ApplyOptions, type DeploymentEngineDeps, type DeploymentHandle, type DeploymentSummary, type ResumeOptions, type SummaryVm } from './deploy/deployment-engine.js';
export { DeleteConfirmationRequiredError, DeploymentInProgressError, PlanChangedError, VmNameConflictError } from './deploy/deployment-errors.js';
export { exportTerraform, TerraformExportError, type TerraformEndpoint, type TerraformExportRequest, type TerraformExportResult } from './terraform/export-terraform.js';
export { createTcpPortProbe, type PortProbe, type TcpPortProbeOptions } from './ports/port-probe.js';
export { agentInterfacesSchema, pickGuestIp } from './inventory/guest-agent-ip.js';
export { NotAllowedError, UnconfirmedEmptyClusterError, UnknownVmError } from './inventory/inventory-errors.js';
export { SyncEngine, type ClusterSyncReport, type SyncEngineOptions } from './inventory/sync-engine.js';
export { InventoryService, type ListVmsQuery, type ListVmsResult, type SyncStats } from './inventory/inventory-service.js';
export { VmPower, type PowerAction, type VmPowerDeps } from './inventory/vm-power.js';
export { classesTaughtBy, denialReason, type Viewer } from './inventory/viewer.js';
export { ClassScheduler, type ClassSchedulerOptions, type ScheduledAction } from './schedule/class-scheduler.js';
export { InvalidScheduleError } from './schedule/schedule-errors.js';
export { KeepAlreadyUsedError, keepVmRunning } from './schedule/keep-running.js';
export { silentNotifier, type NotifiedPerson, type PersonNotifier } from './ports/person-notifier.js';
export { ClassRunningLimitError, QuotaExceededError, TooManyRunningError, assertMayStart, classUsage, formatHours, outsideSessionMs, studentUsage, type StudentUsage } from './schedule/usage.js';
export { assertDate, assertTimeZone, currentSession, describeSchedule, localDate, nextSession, parseMinutes, parseScheduleSpec, sessionsBetween, type ClassSession, type ScheduleSpec } from './schedule/schedule-spec.js';
export { TemplateScanSchedule, type TemplateScanScheduleOptions } from './templates/template-scan-schedule.js';
export { USERNAME, chatAccountId, isChatUserId, type ChatPlatform } from './people/chat-accounts.js';
export { INVITE_CODE_LENGTH, generateInviteCode, hashInviteCode, normalizeInviteCode } from './people/invite-codes.js';
export { createInvite, joinWithInvite, DefaultInviteOptions, InviteAlreadyUsedError, JOIN_AUDIT_ACTION, type CreatedInvite, type JoinRequest, type JoinResult } from './people/invites.js';
export { linkChatAccount, type LinkRequest, type LinkResult } from './people/link-chat-account.js';
export { importRoster, parseRosterCsv, planRosterImport, ROSTER_COLUMNS, type RosterImportReport, type RosterProblem, type RosterRow, type RosterRowPlan } from './people/roster-import.js';
export * from './people/people-errors.js';

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
  type StorageEntry,
  type TaskLogLine,
  type TaskStatus,
} from './pve/pve-schemas.js';
export type * from './pve/generated/pve-api-types.js';
export { RetryBudget, type RetryBudgetOptions } from './client/retry-budget.js';
export { withRetryBudget } from './client/budgeted-api.js';

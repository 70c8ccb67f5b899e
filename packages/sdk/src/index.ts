// The public surface of @lab/proxmox-sdk: what a front end, a command or a bot needs to run the lab.
// Every name here is a promise to callers: change it deliberately (test/public-surface.test.ts lists
// them all, at most 160). The other entries:
//   ./pve        the Proxmox VE wire layer (generated types, schemas, resources, tasks, paths)
//   ./errors     every error class, one stable code each (ERRORS.md)
//   ./store      the contract a Store adapter implements
//   ./terraform  a class as a Terraform workspace
//   ./testing    test doubles and suites

// Errors: one LabError root; tell errors apart by `code` (the classes are in ./errors).
export { LabError, isLabError } from './errors/lab-error.js';

// Ports: what the domain needs from the outside world.
export { systemClock, type Clock } from './ports/clock.js';
export {
  createLogger,
  silentLogger,
  type LogFields,
  type LogLevel,
  type Logger,
  type LogRecord,
} from './ports/logger.js';
export type { LabObserver, PveRequestRecord } from './ports/lab-observer.js';
export type { ClusterApis } from './ports/cluster-apis.js';
export { createTcpPortProbe, type PortProbe } from './ports/port-probe.js';
export { type NotifiedPerson, type PersonNotifier } from './ports/person-notifier.js';
export { everyPlatformNotifier } from './people/every-platform-notifier.js';
export { redact, scrub } from './util/redact.js';
export { MAX_TIMER_MS, TIMER_MS_MESSAGE } from './util/timer-limit.js';

// The Proxmox client and the clusters of a lab (the wire layer is in ./pve).
export { ProxmoxClient } from './client/proxmox-client.js';
export type { ProxmoxClientOptions } from './client/client-options.js';
export { Clusters, clusterConfigSchema, type ClusterConfig } from './client/clusters.js';

// The Store port and the records the domain hands out (adapters: ./store).
export type { Store } from './store/store.js';
export type {
  AuditRecord,
  ClassRecord,
  ClassTimePolicyRecord,
  DeploymentItemRecord,
  DeploymentRecord,
  IdentityPlatform,
  PersonRecord,
  PersonRole,
  TemplateInventoryRecord,
  VmInventoryRecord,
} from './store/records.js';
export type { ClassTermRecord } from './store/class-term-repository.js';
export type { WebSessionRecord } from './store/web-session-repository.js';
export { assertIdentityPlatformId, isIdentityPlatformId } from './store/identity-platform.js';
export { DEFAULT_MAX_SNAPSHOTS } from './store/snapshot-limit.js';

// Templates.
export { LabTemplate } from './templates/lab-template.js';
export { TemplateCatalog } from './templates/template-catalog.js';
export { scanTemplateInventory, templateDistribution, templateStatistics } from './templates/template-inventory.js';
export { checkTemplateHealth } from './templates/template-health.js';
export { replicateTemplate } from './templates/replicate-template.js';
export { TemplateScanSchedule } from './templates/template-scan-schedule.js';

// Deployments: plan, apply, reset, publish.
export { DeploymentEngine } from './deploy/deployment-engine.js';
export type { DeploymentEvent } from './deploy/deployment-events.js';
export type { DeploymentLimits } from './deploy/deployment-limits.js';
export type { DeploymentSummary } from './deploy/deployment-summary.js';
export type { ResetPlan } from './deploy/vm-reset.js';
export { resetsUnderWay, type ResetUnderWay } from './deploy/resets-under-way.js';
export type { PublishPlan } from './deploy/publish-base.js';
export { studentCloudInit } from './deploy/cloud-init.js';
export { LabDoctor } from './doctor/lab-doctor.js';
export { doctorReport, type DoctorCheck, type DoctorReport } from './doctor/doctor-report.js';

// Inventory, sync, power, snapshots, guest passwords.
export { SyncEngine } from './inventory/sync-engine.js';
export type { ClusterSyncReport } from './ports/lab-observer.js';
export { InventoryService, type SyncStats } from './inventory/inventory-service.js';
export { clusterAnswerMaxAgeMs, clusterReadiness } from './inventory/cluster-readiness.js';
export { VmPower, type PowerAction } from './schedule/vm-power.js';
export { classesTaughtBy, type Viewer } from './inventory/viewer.js';
export { classGrid, type ClassGrid, type ClassGridRow } from './schedule/class-grid.js';
export { describeLastAction, lastPowerActions } from './inventory/last-power-action.js';
export { VmSnapshots, type ClassSnapshotOutcome, type VmSnapshot } from './inventory/vm-snapshots.js';
export { GuestPasswords } from './inventory/guest-password.js';

// Schedules, terms, quotas and time limits.
export { ClassScheduler } from './schedule/class-scheduler.js';
export { DEFAULT_IDLE_WARNING_MINUTES } from './schedule/idle-warning-default.js';
export {
  archiveClass,
  assertClassDeployable,
  confirmTermDestroy,
  destroyRefusal,
  setClassEnd,
  termVms,
} from './schedule/class-term.js';
export { graceEndsAt, termEndsAt } from './schedule/term-dates.js';
export { checkNewSchedule } from './schedule/schedule-check.js';
export { DEFAULT_KEEPS_PER_SESSION, keepVmRunning } from './schedule/keep-running.js';
export { classUsage, formatHours, outsideSessionMs, studentUsage, type StudentUsage } from './schedule/usage.js';
export { parseTopUpHours, topUpQuota } from './schedule/quota-top-up.js';
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
} from './schedule/schedule-spec.js';
export { classTimeZone, formatLocalTime } from './schedule/local-time.js';

// People: accounts, invites, link codes, SSH keys, rosters.
export {
  USERNAME,
  builtinIdentityFormats,
  discordIdentity,
  slackIdentity,
  type IdentityFormat,
} from './people/chat-accounts.js';
export { createInvite, joinWithInvite, DefaultInviteOptions } from './people/invites.js';
export { linkChatAccount } from './people/link-chat-account.js';
export { unlinkChatAccount } from './people/unlink-chat-account.js';
export { looksLikePrivateKey } from './people/private-key.js';
export { decideJoinRequest, decidesJoinsOf } from './people/join-requests.js';
export { issueLinkCode, redeemLinkCode } from './people/link-codes.js';
export { addSshKey, removeSshKey } from './people/ssh-keys.js';
export { cleanDisplayName, DISPLAY_NAME_MAX } from './people/display-name.js';
export { importRoster } from './people/roster-import.js';
export { unenrolStudent } from './people/unenrol-student.js';
export { exportRosterCsv, toCsv } from './people/roster-export.js';

// Class lists from the school's directory (LDAP sync and OpenID Connect sign-in).
export { directoryConfigSchema, ldapConfigSchema } from './directory/directory-config.js';
export { GroupMapping } from './directory/group-mapping.js';
export type { EnrolmentChange } from './directory/group-enrolment.js';
export type { DirectoryRead, DirectorySource } from './directory/directory-source.js';
export { LdapDirectory } from './directory/ldap-directory.js';
export type { DirectorySyncReport } from './directory/directory-sync.js';
export { DirectoryService, type DirectoryServiceOptions } from './directory/directory-service.js';

// The browser console: one-time links, the VNC relay, session limits.
export { hashConsoleToken, isConsoleToken } from './console/console-token.js';
export { ConsoleGrants, type ConsoleGrant } from './console/console-grants.js';
export type { ConsoleLimits } from './console/console-limits.js';
export type { ConsoleEndReason } from './console/console-watch.js';
export { relayVncConsole, type ConsoleOutcome, type VncConsoleSession } from './console/vnc-console-relay.js';

/** Times are milliseconds since the epoch (numbers) everywhere in the store. */
export type EpochMs = number;

/** A Proxmox cluster known to the lab. */
export interface ClusterRecord {
  id: string;
  name: string;
  url: string;
}

/** A lab template: what a class is deployed from. Where it lives is in its node mappings. */
export interface TemplateRecord {
  id: number;
  name: string;
  description: string;
  memory: number;
  cores: number;
  isActive: boolean;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

/** Where a template exists: on `node` of `clusterId` as VMID `vmid`. One per template and node. */
export interface TemplateNodeMapping {
  templateId: number;
  clusterId: string;
  node: string;
  vmid: number;
}

/** Health of a registered template as last verified. */
export type TemplateHealth = 'ok' | 'missing' | 'not-template' | 'no-boot-disk' | 'unknown';

/** A template VM found on the cluster (original, replica or class template). */
export interface TemplateInventoryRecord {
  clusterId: string;
  node: string;
  vmid: number;
  name: string;
  isReplica: boolean;
  sourceVmid: number | null;
  sourceNode: string | null;
  isClassTemplate: boolean;
  classId: string | null;
  lastVerifiedAt: EpochMs | null;
  health: TemplateHealth;
  /** Set when a scan no longer finds it; it is kept, not dropped. */
  vanishedAt: EpochMs | null;
}

/** Roles a person can have in the lab. */
export type PersonRole = 'admin' | 'teacher' | 'student';

/** A lab user. */
export interface PersonRecord {
  id: number;
  username: string;
  displayName: string;
  /** Where the school reaches them; null when unknown. */
  email: string | null;
  role: PersonRole;
  createdAt: EpochMs;
}

/**
 * The platform a person may be known on: a front end's id (`slack`, `discord`, `cli`, or any registered
 * one such as `web`), always matching `IDENTITY_PLATFORM_ID`; the store refuses any other.
 */
export type IdentityPlatform = 'slack' | 'discord' | 'cli' | (string & {});

/** A person's account on one platform. */
export interface IdentityRecord {
  personId: number;
  platform: IdentityPlatform;
  externalId: string;
}

/** A class, e.g. `cs101`. */
export interface ClassRecord {
  id: string;
  name: string;
  templateId: number | null;
  ownerId: number | null;
  createdAt: EpochMs;
  /** Nodes an admin pinned the class's VMs to (`class pin`); null or absent: any node. */
  pinnedNodes?: string[] | null;
}

/**
 * An invitation to join a class: a short code the teacher hands out. Only the code's SHA-256 is
 * stored, so a leaked database does not leak usable codes.
 */
export interface InviteRecord {
  /** Hex SHA-256 of the normalised code. */
  codeHash: string;
  classId: string;
  /** Who made it; null once that person is removed. */
  createdBy: number | null;
  createdAt: EpochMs;
  /** The last moment it works. */
  expiresAt: EpochMs;
  /** How many students may join with it. */
  maxUses: number;
  /** How many did. */
  uses: number;
}

/** Why an invite could not be redeemed; `ok` when it was. */
export type InviteRedemption = 'ok' | 'unknown' | 'expired' | 'used-up' | 'already-used';

/** Where a join request stands. */
export type JoinRequestStatus = 'pending' | 'approved' | 'rejected';

/**
 * A chat account's claim to be a roster student (with the class's invite code), waiting for one of
 * the class's teachers (or an admin) to approve or reject it.
 */
export interface JoinRequestRecord {
  /** Short random id people type: `lab people approve <id>`. */
  id: string;
  classId: string;
  /** The roster student the account claims to be. */
  personId: number;
  platform: IdentityPlatform;
  externalId: string;
  /** The invite the claim came with (its use is counted on approval). */
  codeHash: string;
  status: JoinRequestStatus;
  createdAt: EpochMs;
  /** A pending request no one decided by then is void. */
  expiresAt: EpochMs;
  /** The lab username who decided, once decided. */
  decidedBy: string | null;
  decidedAt: EpochMs | null;
}

/** A person's place in a class. */
export interface ClassMemberRecord {
  classId: string;
  personId: number;
  role: 'teacher' | 'student';
}

/** What a VM is for in its class. */
export type VmRole = 'student' | 'teacher' | 'base';

/** Who owns which VM. One owner per cluster+vmid. */
export interface VmAssignmentRecord {
  clusterId: string;
  vmid: number;
  personId: number | null;
  classId: string | null;
  role: VmRole;
  createdAt: EpochMs;
}

/** Operating-system family of a VM, from its `ostype`. */
export type VmCategory = 'windows' | 'linux' | 'other';

/** One VM or container as the inventory knows it. */
export interface VmInventoryRecord {
  clusterId: string;
  vmid: number;
  name: string;
  node: string;
  status: string;
  ip: string | null;
  type: 'qemu' | 'lxc';
  category: VmCategory;
  memory: number | null;
  cores: number | null;
  diskSize: number | null;
  uptime: number;
  cpuUsage: number;
  memoryUsage: number;
  isTemplate: boolean;
  tags: string;
  rdpAvailable: boolean;
  sshAvailable: boolean;
  lastUpdated: EpochMs;
  lastStatusCheck: EpochMs | null;
  syncError: string | null;
  /** Set when the VM disappeared from the cluster. */
  goneAt: EpochMs | null;
  /**
   * Snapshots the VM had when the lab last took, deleted or listed one (a new or reset VM has 0);
   * absent or null = not known. The sync leaves it as it is.
   */
  snapshots?: number | null;
}

/** States of a deployment and of its items. */
export type DeploymentStatus = 'planned' | 'running' | 'done' | 'failed' | 'cancelled';
export type DeploymentItemStatus = 'pending' | 'cloning' | 'verifying' | 'done' | 'failed' | 'deleted';

/** A durable class deployment. `spec` is the JSON the deployment engine planned from. */
export interface DeploymentRecord {
  id: string;
  classId: string;
  clusterId: string;
  spec: unknown;
  status: DeploymentStatus;
  createdBy: string;
  createdAt: EpochMs;
  updatedAt: EpochMs;
  finishedAt: EpochMs | null;
  error: string | null;
  /**
   * Where the front end that started the deployment shows its progress (e.g. Slack channel and
   * message ts), so a process that finishes it after a restart can post the summary there.
   */
  notify?: Record<string, unknown> | null;
}

/** One VM a deployment creates (or deletes). Unique by deployment and name. */
export interface DeploymentItemRecord {
  deploymentId: string;
  name: string;
  kind: 'teacher' | 'base' | 'student' | 'replica' | 'delete';
  personId: number | null;
  node: string | null;
  vmid: number | null;
  status: DeploymentItemStatus;
  attempt: number;
  error: string | null;
  updatedAt: EpochMs;
}

/** Sync bookkeeping of one cluster. */
export interface SyncStateRecord {
  clusterId: string;
  lastFullSyncAt: EpochMs | null;
  lastQuickSyncAt: EpochMs | null;
  lastSuccessAt: EpochMs | null;
  consecutiveErrors: number;
  lastError: string | null;
  nextAttemptAt: EpochMs | null;
}

/** A named lease (e.g. the sync leader). */
export interface LeaseRecord {
  name: string;
  holder: string;
  expiresAt: EpochMs;
}

/** One audit-log entry. */
export interface AuditRecord {
  id: number;
  at: EpochMs;
  actor: string;
  action: string;
  target: string;
  /** `sent`: an action recorded before it went out (its `ok` or `failed` entry follows, or a take-over reconciles it). */
  outcome: 'ok' | 'denied' | 'failed' | 'sent';
  details: Record<string, unknown>;
}

/** One OpenSSH public key of a person, put on their VMs by cloud-init. Unique by person and fingerprint. */
export interface SshKeyRecord {
  personId: number;
  /** The key line as validated: `<type> <base64>[ <comment>]`. */
  key: string;
  type: string;
  /** `SHA256:<base64 without padding>` of the key blob, as `ssh-keygen -l` shows it. */
  fingerprint: string;
  comment: string | null;
  addedAt: EpochMs;
}

/** How a class's VMs are set up by cloud-init. */
export interface ClassSettingsRecord {
  classId: string;
  /** The login user of student VMs; null = each student's lab username. */
  loginUser: string | null;
  /** PVE `ipconfig0` of student VMs (e.g. `ip=dhcp`); null = leave the template's. */
  ipconfig0: string | null;
}

/** One published version of a class's base template (`cs101-base-v2`). Unique by class and version. */
export interface ClassBaseVersionRecord {
  classId: string;
  version: number;
  /** The template VM's name, e.g. `cs101-base-v2`. */
  name: string;
  clusterId: string;
  /** The VM it was published from (the teacher VM), if any. */
  sourceVmid: number | null;
  /** The snapshot it was cloned from, when the teacher VM kept running. */
  snapshot: string | null;
  note: string | null;
  createdBy: string;
  createdAt: EpochMs;
}

/**
 * A weekly class schedule: on `days` from `startTime` to `endTime` (wall clock in `timezone`), the
 * class's student VMs are started `startBeforeMin` minutes early and stopped after the end.
 */
export interface ClassScheduleRecord {
  id: number;
  classId: string;
  /** Days of the week as croner reads them, e.g. `mon,wed`. */
  days: string;
  /** `HH:MM`, wall clock in `timezone`. */
  startTime: string;
  /** `HH:MM`, wall clock in `timezone`; later than `startTime` on the same day. */
  endTime: string;
  /** An IANA time zone, e.g. `Europe/Berlin`. */
  timezone: string;
  startBeforeMin: number;
  /** Dates (`YYYY-MM-DD` in `timezone`) with no session. */
  skipDates: string[];
  createdBy: string;
  createdAt: EpochMs;
}

/** A class's time and cost limits; null = no limit. */
export interface ClassTimePolicyRecord {
  classId: string;
  /** Hours each student may run their VMs outside scheduled sessions. */
  quotaHours: number | null;
  /** VMs a student may have running at once. */
  maxRunning: number | null;
  /** Student VMs of the class that may run at once outside sessions. */
  maxRunningInClass: number | null;
  /** A running VM below this CPU percentage counts as idle. */
  idleCpuBelowPercent: number | null;
  /** How long a VM must be idle before it gets its warning. */
  idleForMinutes: number | null;
  /**
   * How often a student may keep one VM running past its idle warning (`/myvm keep`) between two
   * session boundaries; 0 = never. Not a limit that can be off. @defaultValue 1
   */
  keepsPerSession: number;
  /** Minutes between the idle or quota warning and the stop; null = the scheduler's `idleWarningMinutes`. */
  idleWarnMinutes: number | null;
  /**
   * Idle warnings and stops also during the class's scheduled sessions (warm-up included); by
   * default a session's VMs are left on however idle they are. @defaultValue false
   */
  idleInSessions?: boolean;
  /**
   * Snapshots a student may keep per VM (`/myvm snapshot`); 0 = no limit. Snapshots a teacher
   * takes for the class do not count. Absent = `DEFAULT_MAX_SNAPSHOTS` (3).
   */
  maxSnapshots?: number;
  /**
   * Idle also needs nobody logged in (the guest agent's `get-users`) for `idleForMinutes`; a VM whose
   * agent does not answer is judged by the other signals. Absent = off.
   */
  idleUsers?: boolean;
  /** An open console session of ours keeps the VM from being idle or never-connected. Absent = true. */
  consoleNeverIdle?: boolean;
  /**
   * A started VM nobody connected to (console of ours, or a login the guest agent reports) within
   * this many minutes gets its owner warned, then stopped. Absent or null = off.
   */
  neverConnectedMinutes?: number | null;
}

/** Extra quota hours one student got in one class (`/lab quota`), applied once per idempotency key. */
export interface QuotaTopUpRecord {
  id: number;
  classId: string;
  personId: number;
  /** Hours added (positive). */
  hours: number;
  /** What makes a retry of the same top-up a no-op. */
  idempotencyKey: string;
  /** Who gave it (lab username, `cli:<user>`). */
  actor: string;
  at: EpochMs;
}

/** One interval during which a VM ran; `endedAt` null while it still runs. */
export interface VmUsageIntervalRecord {
  clusterId: string;
  vmid: number;
  startedAt: EpochMs;
  endedAt: EpochMs | null;
}

/** Idle tracking of one running VM (the class scheduler's, from the sync's CPU readings). */
export interface VmIdleRecord {
  clusterId: string;
  vmid: number;
  /** Since when its CPU has stayed below the class's threshold; null while it is busy. */
  idleSince: EpochMs | null;
  /** When its owner was warned that it will stop; null before the warning. */
  warnedAt: EpochMs | null;
  /** When its owner last kept it running (`/myvm keep`); null if never. */
  keptAt: EpochMs | null;
  /** Keeps since the last session boundary before `keptAt` (0 when never kept). */
  keepsUsed: number;
}

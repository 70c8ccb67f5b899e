import type {
  AuditRecord,
  ClassBaseVersionRecord,
  ClassMemberRecord,
  ClassSettingsRecord,
  ClassScheduleRecord,
  ClassTimePolicyRecord,
  QuotaTopUpRecord,
  VmUsageIntervalRecord,
  VmIdleRecord,
  ClassRecord,
  ClusterRecord,
  DeploymentItemRecord,
  DeploymentRecord,
  DeploymentStatus,
  EpochMs,
  IdentityPlatform,
  IdentityRecord,
  InviteRecord,
  InviteRedemption,
  JoinRequestRecord,
  JoinRequestStatus,
  LeaseRecord,
  PersonRecord,
  PersonRole,
  SshKeyRecord,
  SyncStateRecord,
  TemplateHealth,
  TemplateInventoryRecord,
  TemplateNodeMapping,
  TemplateRecord,
  VmAssignmentRecord,
  VmInventoryRecord,
} from './records.js';
import type { ConsoleGrantRepository } from './console-grant-repository.js';
import type { WebSessionRepository } from './web-session-repository.js';
import type { LinkCodeRepository } from './link-code-repository.js';
import type { ClassTermRepository } from './class-term-repository.js';
import type { SdnRepository } from './sdn-repository.js';
import type { LabDefinitionRepository } from './lab-definition-repository.js';

/** Clusters the lab knows. */
export interface ClusterRepository {
  upsert(cluster: ClusterRecord): Promise<void>;
  get(id: string): Promise<ClusterRecord | undefined>;
  list(): Promise<ClusterRecord[]>;
}

/** Fields of a new template. */
export type NewTemplate = Pick<TemplateRecord, 'name' | 'description' | 'memory' | 'cores' | 'isActive'>;

/** Lab templates and their per-node VMID mappings. */
export interface TemplateRepository {
  /** Creates a template with its mappings in one go; a taken name → `DuplicateNameError`. */
  create(
    template: NewTemplate,
    mappings: ReadonlyArray<Omit<TemplateNodeMapping, 'templateId'>>,
    at: EpochMs,
  ): Promise<TemplateRecord>;
  update(id: number, patch: Partial<NewTemplate>, at: EpochMs): Promise<TemplateRecord>;
  get(id: number): Promise<TemplateRecord | undefined>;
  getByName(name: string): Promise<TemplateRecord | undefined>;
  list(options?: { activeOnly?: boolean }): Promise<TemplateRecord[]>;
  /** Deletes a template and its mappings; false when it did not exist. */
  delete(id: number): Promise<boolean>;
  /** Adds a mapping; a second one for the same template and node → `DuplicateTemplateMappingError`. */
  addMapping(mapping: TemplateNodeMapping): Promise<void>;
  removeMapping(templateId: number, clusterId: string, node: string): Promise<boolean>;
  mappings(templateId: number): Promise<TemplateNodeMapping[]>;
}

/** Filters of the template inventory; every given field must match. */
export interface TemplateInventoryFilter {
  clusterId?: string;
  node?: string;
  vmid?: number;
  name?: string;
  isReplica?: boolean;
  isClassTemplate?: boolean;
  classId?: string;
  /** Include templates a scan no longer found. @defaultValue false */
  includeVanished?: boolean;
}

/** Template VMs found on the clusters. */
export interface TemplateInventoryRepository {
  /** Inserts or updates by cluster+node+vmid (clearing `vanishedAt`). */
  upsert(record: TemplateInventoryRecord): Promise<void>;
  list(filter?: TemplateInventoryFilter): Promise<TemplateInventoryRecord[]>;
  /** Marks the cluster's templates not in `present` as vanished at `at`; returns how many. */
  markVanished(clusterId: string, present: ReadonlyArray<{ node: string; vmid: number }>, at: EpochMs): Promise<number>;
  setHealth(clusterId: string, node: string, vmid: number, health: TemplateHealth, at: EpochMs): Promise<void>;
}

/** People, their chat identities, classes, membership and VM assignments. */
export interface ClassRepository {
  /** Creates a person; a taken username → `DuplicateNameError`. `email` defaults to null. */
  createPerson(
    person: Pick<PersonRecord, 'username' | 'displayName' | 'role'> & { email?: string | null },
    at: EpochMs,
  ): Promise<PersonRecord>;
  /** Changes a person's name, email or role; an unknown person → `RecordNotFoundError`. */
  updatePerson(
    personId: number,
    patch: Partial<Pick<PersonRecord, 'displayName' | 'email' | 'role'>>,
  ): Promise<PersonRecord>;
  /**
   * Deletes a person with their chat identities, memberships and invite uses; VMs assigned to them
   * and classes they own keep existing without an owner. False when there was no such person.
   */
  deletePerson(personId: number): Promise<boolean>;
  getPerson(id: number): Promise<PersonRecord | undefined>;
  /** The people with these ids (unknown ids are left out), by id; one read however many. */
  getPeople(ids: readonly number[]): Promise<PersonRecord[]>;
  getPersonByUsername(username: string): Promise<PersonRecord | undefined>;
  listPeople(): Promise<PersonRecord[]>;
  setRole(personId: number, role: PersonRole): Promise<void>;
  /**
   * Links a platform account; one owned by someone else → `IdentityTakenError`, a person who has
   * another account on the platform → `PersonAlreadyLinkedError` (one per person per platform,
   * enforced by the database across processes). Idempotent.
   */
  linkIdentity(identity: IdentityRecord): Promise<void>;
  /** Removes the link of a platform account; false when it was not linked. */
  unlinkIdentity(platform: IdentityPlatform, externalId: string): Promise<boolean>;
  findByIdentity(platform: IdentityPlatform, externalId: string): Promise<PersonRecord | undefined>;
  identitiesOf(personId: number): Promise<IdentityRecord[]>;
  createClass(record: Omit<ClassRecord, 'createdAt'>, at: EpochMs): Promise<ClassRecord>;
  getClass(id: string): Promise<ClassRecord | undefined>;
  /** Changes a class's name, template or owner; an unknown class → `RecordNotFoundError`, an unknown template or person → `UnknownReferenceError`. */
  updateClass(
    id: string,
    patch: Partial<Pick<ClassRecord, 'name' | 'templateId' | 'ownerId' | 'pinnedNodes'>>,
  ): Promise<ClassRecord>;
  listClasses(): Promise<ClassRecord[]>;
  /** Deletes a class with its membership; its VM assignments lose their class. */
  deleteClass(id: string): Promise<boolean>;
  /** Adds or changes a membership; an unknown class or person → `UnknownReferenceError`. */
  addMember(member: ClassMemberRecord): Promise<void>;
  removeMember(classId: string, personId: number): Promise<boolean>;
  members(classId: string): Promise<ClassMemberRecord[]>;
  classesOf(personId: number): Promise<ClassMemberRecord[]>;
  /** Sets the owner of cluster+vmid (replacing any previous one). */
  assignVm(assignment: Omit<VmAssignmentRecord, 'createdAt'>, at: EpochMs): Promise<void>;
  unassignVm(clusterId: string, vmid: number): Promise<boolean>;
  assignment(clusterId: string, vmid: number): Promise<VmAssignmentRecord | undefined>;
  assignmentsOf(personId: number): Promise<VmAssignmentRecord[]>;
  assignmentsOfClass(classId: string): Promise<VmAssignmentRecord[]>;
}

/** Class invitations, stored by the hash of their code. */
export interface InviteRepository {
  /** Records a new invite with no uses; an unknown class → `UnknownReferenceError`, a taken hash → `DuplicateNameError`. */
  create(invite: Omit<InviteRecord, 'uses'>): Promise<InviteRecord>;
  get(codeHash: string): Promise<InviteRecord | undefined>;
  /** The class's invites, newest first (expired ones included). */
  listForClass(classId: string): Promise<InviteRecord[]>;
  /**
   * Counts one use of the invite by `personId`, atomically across processes: `ok`, or why not —
   * `unknown`, `expired` (after `expiresAt`), `used-up` (`maxUses` reached) or `already-used` (by
   * this person: a code works once per student). Nothing changes unless the answer is `ok`.
   */
  redeem(codeHash: string, personId: number, now: EpochMs): Promise<InviteRedemption>;
  /** Deletes an invite; false when there was none. */
  revoke(codeHash: string): Promise<boolean>;
  /** Records a join request; an unknown class or person → `UnknownReferenceError`. */
  requestJoin(request: JoinRequestRecord): Promise<void>;
  joinRequest(id: string): Promise<JoinRequestRecord | undefined>;
  /** Join requests, oldest first: every one, or those of a class, a status. */
  joinRequests(filter?: { classId?: string; status?: JoinRequestStatus }): Promise<JoinRequestRecord[]>;
  /**
   * Decides a pending, unexpired request, atomically across processes: the decided record, or
   * undefined when it was decided already, expired or unknown (so one request is decided once).
   */
  decideJoin(
    id: string,
    decision: 'approved' | 'rejected',
    decidedBy: string,
    now: EpochMs,
  ): Promise<JoinRequestRecord | undefined>;
}

/** Counters of attempts per key in a fixed window, for rate limits shared by every process. */
export interface RateLimitRepository {
  /**
   * Counts one attempt under `key` atomically: allowed while the window that started with the
   * key's first attempt (it lasts `windowMs`) has at most `limit` attempts, this one included. A
   * refused attempt is not counted. `count` is the attempts in the window after this one.
   */
  hit(key: string, limit: number, windowMs: number, now: EpochMs): Promise<{ allowed: boolean; count: number }>;
  /** Takes one counted attempt back (it turned out fine); no-op when none is counted. */
  giveBack(key: string): Promise<void>;
}

/** Filters of the VM inventory; every given field must match. */
export interface VmInventoryFilter {
  clusterId?: string;
  /** Only VMs assigned to this person. */
  personId?: number;
  /** Only VMs assigned within these classes. */
  classIds?: readonly string[];
  /** Case-insensitive match on name, or exact vmid. */
  search?: string;
  status?: string;
  /** @defaultValue false */
  includeTemplates?: boolean;
  /** Include VMs that disappeared from the cluster. @defaultValue false */
  includeGone?: boolean;
  /** Only VMs with these VMIDs (with `clusterId`: a sync reading the rows it must rewrite). */
  vmids?: readonly number[];
  limit?: number;
}

/**
 * What a quick sync reads of each stored row: its sync key (`vmSyncKey`, null when the store no
 * longer knows it), its guest address and the `VM_SYNC_FLAGS` bits.
 */
export interface VmSyncKeyRow {
  vmid: number;
  syncKey: number | null;
  ip: string | null;
  flags: number;
}

/** The database-first VM inventory. */
export interface VmInventoryRepository {
  /** Inserts or replaces rows by cluster+vmid, all or none. */
  upsertMany(rows: readonly VmInventoryRecord[]): Promise<void>;
  get(clusterId: string, vmid: number): Promise<VmInventoryRecord | undefined>;
  list(filter?: VmInventoryFilter): Promise<VmInventoryRecord[]>;
  /**
   * What `list(filter)` returns and every cluster's sync state (as `sync.listStates()` returns
   * them), read together: `listVms` needs both, and on PostgreSQL this is one statement, so one
   * round trip instead of two.
   */
  listWithSyncStates(filter?: VmInventoryFilter): Promise<{ vms: VmInventoryRecord[]; syncStates: SyncStateRecord[] }>;
  /**
   * Every row of the cluster (templates and gone VMs too) as a sync compares it with the listing,
   * in no particular order: its sync key and flags. The sync then reads the whole rows of the few
   * VMs that changed.
   */
  listSyncKeys(clusterId: string): Promise<VmSyncKeyRow[]>;
  /** Changes some fields of one VM; false when it is not in the inventory. */
  update(
    clusterId: string,
    vmid: number,
    patch: Partial<Omit<VmInventoryRecord, 'clusterId' | 'vmid'>>,
  ): Promise<boolean>;
  /** Marks the cluster's VMs not in `presentVmids` as gone at `at`; returns how many. */
  markGone(clusterId: string, presentVmids: readonly number[], at: EpochMs): Promise<number>;
  /**
   * Records a sync's listing without rewriting whole rows: the usage `readings` of VMs whose only
   * change is their usage, then `lastUpdated = at` on every VM of the cluster that is not gone.
   */
  refreshListed(clusterId: string, readings: readonly VmUsageReading[], at: EpochMs): Promise<void>;
  count(clusterId?: string): Promise<number>;
}

/** The fields of a listed VM that change on every sync while it runs. */
export interface VmUsageReading {
  vmid: number;
  uptime: number;
  cpuUsage: number;
  memoryUsage: number;
}

/** Durable deployments and their items. */
export interface DeploymentRepository {
  /** Records a deployment with its items, all or none. */
  create(deployment: DeploymentRecord, items: readonly DeploymentItemRecord[]): Promise<void>;
  get(id: string): Promise<DeploymentRecord | undefined>;
  list(filter?: { classId?: string; status?: DeploymentStatus }): Promise<DeploymentRecord[]>;
  /** Deployments still `planned` or `running` (to resume after a crash). */
  unfinished(): Promise<DeploymentRecord[]>;
  update(
    id: string,
    patch: Partial<Pick<DeploymentRecord, 'status' | 'error' | 'finishedAt' | 'spec' | 'notify'>>,
    at: EpochMs,
  ): Promise<void>;
  items(deploymentId: string): Promise<DeploymentItemRecord[]>;
  /** Inserts or replaces an item by deployment+name. */
  upsertItem(item: DeploymentItemRecord): Promise<void>;
  updateItem(
    deploymentId: string,
    name: string,
    patch: Partial<Omit<DeploymentItemRecord, 'deploymentId' | 'name'>>,
  ): Promise<void>;
}

/** Sync state per cluster and named leases. */
export interface SyncRepository {
  getState(clusterId: string): Promise<SyncStateRecord | undefined>;
  listStates(): Promise<SyncStateRecord[]>;
  saveState(state: SyncStateRecord): Promise<void>;
  /**
   * Takes or renews lease `name` for `holder` until `now + ttlMs`. Succeeds when the lease is free,
   * expired, or already held by `holder`; atomic across processes sharing the database.
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: EpochMs): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>;
  getLease(name: string): Promise<LeaseRecord | undefined>;
  /** The leases whose name starts with `prefix` and that have not expired at `now`, by name. */
  liveLeases(prefix: string, now: EpochMs): Promise<LeaseRecord[]>;
}

/**
 * Keys that may be used once, until they expire: replay guards (a Discord interaction id, a Slack
 * trigger id), Confirm buttons, one-time links. Atomic across processes sharing the database.
 */
export interface NonceRepository {
  /** Records `key` until `expiresAt`; false when it is recorded already and not expired (a replay). */
  claim(key: string, expiresAt: EpochMs, now: EpochMs): Promise<boolean>;
  /** Stores `payload` under `key` until `expiresAt`; a live key → `DuplicateNameError`. */
  put(key: string, payload: unknown, expiresAt: EpochMs, now: EpochMs): Promise<void>;
  /** Returns the payload of `key` and deletes it: once only; undefined when unknown, taken or expired. */
  take(key: string, now: EpochMs): Promise<unknown>;
  /** The payload of `key` without taking it: undefined when unknown, taken or expired. */
  peek(key: string, now: EpochMs): Promise<unknown>;
  /** Deletes expired keys; returns how many. */
  prune(now: EpochMs): Promise<number>;
}

/** People's SSH public keys. */
export interface SshKeyRepository {
  /** Adds a key; false when the person has one with the same fingerprint. An unknown person → `UnknownReferenceError`. */
  add(record: SshKeyRecord): Promise<boolean>;
  /** The person's keys, oldest first. */
  list(personId: number): Promise<SshKeyRecord[]>;
  /** Removes the key with `fingerprint`; false when there was none. */
  remove(personId: number, fingerprint: string): Promise<boolean>;
}

/** Class settings (cloud-init login scheme) and the published versions of a class's base template. */
export interface ClassLifecycleRepository {
  settings(classId: string): Promise<ClassSettingsRecord | undefined>;
  /** Inserts or replaces the class's settings; an unknown class → `UnknownReferenceError`. */
  saveSettings(record: ClassSettingsRecord): Promise<void>;
  /** Records a base version; a taken class+version → `DuplicateNameError`, an unknown class → `UnknownReferenceError`. */
  addBaseVersion(record: ClassBaseVersionRecord): Promise<void>;
  /** The class's base versions, oldest first. */
  baseVersions(classId: string): Promise<ClassBaseVersionRecord[]>;
  removeBaseVersion(classId: string, version: number): Promise<boolean>;
}

/** Weekly class schedules. */
export interface ScheduleRepository {
  /** Adds a schedule and gives it an id; an unknown class → `UnknownReferenceError`. */
  add(record: Omit<ClassScheduleRecord, 'id'>): Promise<ClassScheduleRecord>;
  /** Every schedule (or the class's), by class then id. */
  list(classId?: string): Promise<ClassScheduleRecord[]>;
  /** Removes the class's schedule `id`; false when there was none. */
  remove(classId: string, id: number): Promise<boolean>;
}

/** Class time policies and the ledger of VM running intervals. */
export interface UsageRepository {
  policy(classId: string): Promise<ClassTimePolicyRecord | undefined>;
  /** Inserts or replaces the class's policy; an unknown class → `UnknownReferenceError`. */
  savePolicy(record: ClassTimePolicyRecord): Promise<void>;
  /** Opens a running interval of the VM at `at`; false (nothing written) when one is open already. */
  openInterval(clusterId: string, vmid: number, at: EpochMs): Promise<boolean>;
  /** Closes the VM's open interval at `at`; false when none was open. */
  closeInterval(clusterId: string, vmid: number, at: EpochMs): Promise<boolean>;
  /** The VMs' intervals that were open at or after `since`, oldest first. */
  intervals(vms: ReadonlyArray<{ clusterId: string; vmid: number }>, since?: EpochMs): Promise<VmUsageIntervalRecord[]>;
  idle(clusterId: string, vmid: number): Promise<VmIdleRecord | undefined>;
  /** The idle records of these VMs (those that have one), in one read. */
  idleOf(vms: ReadonlyArray<{ clusterId: string; vmid: number }>): Promise<VmIdleRecord[]>;
  /** Inserts or replaces the VM's idle record. */
  saveIdle(record: VmIdleRecord): Promise<void>;
  /** Forgets the VM's idle record (it is busy again or stopped); false when there was none. */
  clearIdle(clusterId: string, vmid: number): Promise<boolean>;
  /**
   * Records a quota top-up once per `idempotencyKey`, atomically across processes: `applied` false
   * and the first record when the key was used already. An unknown class or person → `UnknownReferenceError`.
   */
  addTopUp(record: Omit<QuotaTopUpRecord, 'id'>): Promise<{ applied: boolean; topUp: QuotaTopUpRecord }>;
  /** The class's quota top-ups (or one student's), oldest first. */
  topUps(classId: string, personId?: number): Promise<QuotaTopUpRecord[]>;
}

/** Who did what. */
export interface AuditRepository {
  record(entry: Omit<AuditRecord, 'id'>): Promise<void>;
  /** Entries newest first; `targets` keeps those about any of these targets (`lab/105`). */
  list(filter?: {
    actor?: string;
    action?: string;
    targets?: readonly string[];
    since?: EpochMs;
    limit?: number;
  }): Promise<AuditRecord[]>;
  /**
   * The newest entry about each of `targets` whose action starts with `actionPrefix` and whose
   * outcome is `outcome` (at most one per target, in no set order): what happened last to each VM
   * of a class, in one read.
   */
  latestByTarget(
    targets: readonly string[],
    filter: { actionPrefix: string; outcome: AuditRecord['outcome'] },
  ): Promise<AuditRecord[]>;
  /** Deletes the entries older than `before` (retention); returns how many. */
  prune(before: EpochMs): Promise<number>;
}

/**
 * The SDK's only way to persist. Implementations: `createMemoryStore()` (tests of pure logic) and
 * `openStore()` from `@lab/proxmox-store` (SQLite by default, PostgreSQL for several processes).
 */
export interface Store {
  readonly clusters: ClusterRepository;
  readonly templates: TemplateRepository;
  readonly templateInventory: TemplateInventoryRepository;
  readonly classes: ClassRepository;
  readonly inventory: VmInventoryRepository;
  readonly deployments: DeploymentRepository;
  readonly sync: SyncRepository;
  readonly nonces: NonceRepository;
  readonly invites: InviteRepository;
  readonly sshKeys: SshKeyRepository;
  readonly classLifecycle: ClassLifecycleRepository;
  readonly schedules: ScheduleRepository;
  readonly usage: UsageRepository;
  readonly audit: AuditRepository;
  /** Attempt counters behind rate limits (wrong invite codes, console links). */
  readonly rateLimits: RateLimitRepository;
  /** One-time browser console links (`/myvm console`). */
  readonly consoleGrants: ConsoleGrantRepository;
  /** Web portal sessions. */
  readonly webSessions: WebSessionRepository;
  /** One-time codes that link a chat account to a person signed in on the web portal (`/lab link-me`). */
  readonly linkCodes: LinkCodeRepository;
  /** Class end dates, their destroy confirmations and archive marks (`/class set-end`, `class archive`). */
  readonly classTerms: ClassTermRepository;
  /** The SDN zones and VNets the lab owns (class networks), with their state for a take-over. */
  readonly sdn: SdnRepository;
  /** Each class's lab definition: the roles (VMs) every student gets and the network choice (`/class set-lab`). */
  readonly labDefinitions: LabDefinitionRepository;
  /** Runs `fn` in one transaction: everything it wrote is kept, or nothing if it throws. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

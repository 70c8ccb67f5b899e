import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { TransactionGuard } from '../store/transaction-guard.js';
import { DEFAULT_MAX_SNAPSHOTS } from '../store/snapshot-limit.js';
import { assertIdentityPlatformId } from '../store/identity-platform.js';
import { vmSyncFlags, vmSyncKey } from '../store/vm-sync-key.js';
import type {
  AuditRecord,
  ClassMemberRecord,
  ClassRecord,
  ClusterRecord,
  DeploymentItemRecord,
  DeploymentRecord,
  IdentityRecord,
  InviteRecord,
  JoinRequestRecord,
  SshKeyRecord,
  ClassSettingsRecord,
  ClassBaseVersionRecord,
  ClassScheduleRecord,
  ClassTimePolicyRecord,
  QuotaTopUpRecord,
  VmUsageIntervalRecord,
  VmIdleRecord,
  LeaseRecord,
  PersonRecord,
  SyncStateRecord,
  TemplateInventoryRecord,
  TemplateNodeMapping,
  TemplateRecord,
  VmAssignmentRecord,
  VmInventoryRecord,
} from '../store/records.js';
import type { ConsoleGrantRecord } from '../store/console-grant-repository.js';
import type { WebSessionRecord } from '../store/web-session-repository.js';
import type { LinkCodeRecord } from '../store/link-code-repository.js';
import type { ClassTermRecord } from '../store/class-term-repository.js';
import type { SdnObjectRecord } from '../store/sdn-repository.js';
import type { LabDefinitionRecord } from '../store/lab-definition-repository.js';
import type { Store, TemplateInventoryFilter, VmInventoryFilter } from '../store/store.js';
import {
  DuplicateNameError,
  DuplicateTemplateMappingError,
  IdentityTakenError,
  PersonAlreadyLinkedError,
  RecordNotFoundError,
  UnknownReferenceError,
} from '../store/store-errors.js';

interface MemoryState {
  clusters: ClusterRecord[];
  templates: TemplateRecord[];
  mappings: TemplateNodeMapping[];
  templateInventory: TemplateInventoryRecord[];
  people: PersonRecord[];
  identities: IdentityRecord[];
  classes: ClassRecord[];
  members: ClassMemberRecord[];
  assignments: VmAssignmentRecord[];
  inventory: Map<string, VmInventoryRecord>;
  deployments: DeploymentRecord[];
  items: DeploymentItemRecord[];
  syncStates: SyncStateRecord[];
  leases: LeaseRecord[];
  nonces: Map<string, { payload: unknown; expiresAt: number }>;
  invites: InviteRecord[];
  inviteUses: Array<{ codeHash: string; personId: number; usedAt: number }>;
  sshKeys: SshKeyRecord[];
  classSettings: ClassSettingsRecord[];
  baseVersions: ClassBaseVersionRecord[];
  schedules: ClassScheduleRecord[];
  policies: ClassTimePolicyRecord[];
  topUps: QuotaTopUpRecord[];
  usage: VmUsageIntervalRecord[];
  idle: VmIdleRecord[];
  audit: AuditRecord[];
  consoleGrants: ConsoleGrantRecord[];
  joinRequests: JoinRequestRecord[];
  rateCounters: Map<string, { windowStart: number; count: number }>;
  webSessions: WebSessionRecord[];
  linkCodes: LinkCodeRecord[];
  classTerms: ClassTermRecord[];
  sdn: SdnObjectRecord[];
  labDefinitions: LabDefinitionRecord[];
  nextId: number;
}

const emptyState = (): MemoryState => ({
  clusters: [],
  templates: [],
  mappings: [],
  templateInventory: [],
  people: [],
  identities: [],
  classes: [],
  members: [],
  assignments: [],
  inventory: new Map(),
  deployments: [],
  items: [],
  syncStates: [],
  leases: [],
  nonces: new Map(),
  invites: [],
  inviteUses: [],
  sshKeys: [],
  classSettings: [],
  baseVersions: [],
  schedules: [],
  policies: [],
  topUps: [],
  usage: [],
  idle: [],
  audit: [],
  consoleGrants: [],
  joinRequests: [],
  rateCounters: new Map(),
  webSessions: [],
  linkCodes: [],
  classTerms: [],
  sdn: [],
  labDefinitions: [],
  nextId: 1,
});

const byString =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));
const copy = <T>(value: T): T => structuredClone(value);
const vmKey = (clusterId: string, vmid: number) => `${clusterId}/${vmid}`;

/** Whether an inventory row passes a filter, given the assignments. Shared with SQL semantics. */
function matchesVm(vm: VmInventoryRecord, filter: VmInventoryFilter, assignments: VmAssignmentRecord[]): boolean {
  if (filter.clusterId !== undefined && vm.clusterId !== filter.clusterId) return false;
  if (filter.status !== undefined && vm.status !== filter.status) return false;
  if (filter.vmids !== undefined && !filter.vmids.includes(vm.vmid)) return false;
  if (!filter.includeTemplates && vm.isTemplate) return false;
  if (!filter.includeGone && vm.goneAt !== null) return false;
  if (filter.search !== undefined && filter.search !== '') {
    const s = filter.search.toLowerCase();
    if (!vm.name.toLowerCase().includes(s) && String(vm.vmid) !== filter.search) return false;
  }
  if (filter.personId !== undefined || filter.classIds !== undefined) {
    const a = assignments.find((x) => x.clusterId === vm.clusterId && x.vmid === vm.vmid);
    if (!a) return false;
    if (filter.personId !== undefined && a.personId !== filter.personId) return false;
    if (filter.classIds !== undefined && (a.classId === null || !filter.classIds.includes(a.classId))) return false;
  }
  return true;
}

/**
 * Wraps every method of `repo` so that it waits for the store's lock: a call made outside an open
 * transaction waits for it to end, as on SQLite's single connection; a call made inside it, through
 * the outer store, throws `StoreInTransactionError` at once, as on every engine.
 */
function serialized<T extends object>(repo: T, name: string, lock: ConcurrencyLimiter, guard: TransactionGuard): T {
  const out: Record<string, unknown> = {};
  for (const [key, fn] of Object.entries(repo)) {
    out[key] =
      typeof fn === 'function'
        ? (...args: unknown[]) => lock.run(() => (fn as (...a: unknown[]) => Promise<unknown>).apply(repo, args))
        : fn;
  }
  return guard.guard(out as T, name);
}

/** An in-memory `Store` with the same rules as the SQL ones, for tests of pure logic. */
export function createMemoryStore(): Store {
  let s = emptyState();
  const lock = new ConcurrencyLimiter(1);
  const guard = new TransactionGuard();
  const id = (): number => s.nextId++;

  const raw: Store = {
    clusters: {
      async upsert(cluster) {
        s.clusters = [...s.clusters.filter((c) => c.id !== cluster.id), copy(cluster)];
      },
      async get(clusterId) {
        return copy(s.clusters.find((c) => c.id === clusterId));
      },
      async list() {
        return copy([...s.clusters].sort(byString((c) => c.id)));
      },
    },
    templates: {
      async create(template, mappings, at) {
        if (s.templates.some((t) => t.name === template.name)) throw new DuplicateNameError('template', template.name);
        const record: TemplateRecord = { id: id(), ...template, createdAt: at, updatedAt: at };
        const seen = new Set<string>();
        for (const m of mappings) {
          const key = `${m.clusterId}/${m.node}`;
          if (seen.has(key))
            throw new DuplicateTemplateMappingError({ templateId: record.id, clusterId: m.clusterId, node: m.node });
          seen.add(key);
        }
        s.templates.push(record);
        for (const m of mappings) s.mappings.push({ templateId: record.id, ...m });
        return copy(record);
      },
      async update(templateId, patch, at) {
        const t = s.templates.find((x) => x.id === templateId);
        if (!t) throw new RecordNotFoundError('template', templateId);
        if (patch.name !== undefined && s.templates.some((x) => x.name === patch.name && x.id !== templateId))
          throw new DuplicateNameError('template', patch.name);
        Object.assign(t, patch, { updatedAt: at });
        return copy(t);
      },
      async get(templateId) {
        return copy(s.templates.find((t) => t.id === templateId));
      },
      async getByName(name) {
        return copy(s.templates.find((t) => t.name === name));
      },
      async list(options = {}) {
        return copy(s.templates.filter((t) => !options.activeOnly || t.isActive).sort(byString((t) => t.name)));
      },
      async delete(templateId) {
        const before = s.templates.length;
        s.templates = s.templates.filter((t) => t.id !== templateId);
        s.mappings = s.mappings.filter((m) => m.templateId !== templateId);
        s.classes.forEach((c) => {
          if (c.templateId === templateId) c.templateId = null;
        });
        return s.templates.length < before;
      },
      async addMapping(mapping) {
        if (!s.templates.some((t) => t.id === mapping.templateId))
          throw new UnknownReferenceError('template', mapping.templateId);
        if (
          s.mappings.some(
            (m) => m.templateId === mapping.templateId && m.clusterId === mapping.clusterId && m.node === mapping.node,
          )
        ) {
          throw new DuplicateTemplateMappingError(mapping);
        }
        s.mappings.push(copy(mapping));
      },
      async removeMapping(templateId, clusterId, node) {
        const before = s.mappings.length;
        s.mappings = s.mappings.filter(
          (m) => !(m.templateId === templateId && m.clusterId === clusterId && m.node === node),
        );
        return s.mappings.length < before;
      },
      async mappings(templateId) {
        return copy(
          s.mappings.filter((m) => m.templateId === templateId).sort(byString((m) => `${m.clusterId}/${m.node}`)),
        );
      },
    },
    templateInventory: {
      async upsert(record) {
        s.templateInventory = s.templateInventory.filter(
          (r) => !(r.clusterId === record.clusterId && r.node === record.node && r.vmid === record.vmid),
        );
        s.templateInventory.push({ ...copy(record), vanishedAt: null });
      },
      async list(filter: TemplateInventoryFilter = {}) {
        return copy(
          s.templateInventory
            .filter(
              (r) =>
                (filter.clusterId === undefined || r.clusterId === filter.clusterId) &&
                (filter.node === undefined || r.node === filter.node) &&
                (filter.vmid === undefined || r.vmid === filter.vmid) &&
                (filter.name === undefined || r.name === filter.name) &&
                (filter.isReplica === undefined || r.isReplica === filter.isReplica) &&
                (filter.isClassTemplate === undefined || r.isClassTemplate === filter.isClassTemplate) &&
                (filter.classId === undefined || r.classId === filter.classId) &&
                (filter.includeVanished || r.vanishedAt === null),
            )
            .sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.node.localeCompare(b.node) || a.vmid - b.vmid),
        );
      },
      async markVanished(clusterId, present, at) {
        let n = 0;
        for (const r of s.templateInventory) {
          if (r.clusterId !== clusterId || r.vanishedAt !== null) continue;
          if (present.some((p) => p.node === r.node && p.vmid === r.vmid)) continue;
          r.vanishedAt = at;
          r.health = 'missing';
          n++;
        }
        return n;
      },
      async setHealth(clusterId, node, vmid, health, at) {
        const r = s.templateInventory.find((x) => x.clusterId === clusterId && x.node === node && x.vmid === vmid);
        if (!r) throw new RecordNotFoundError('template inventory entry', `${clusterId}/${node}/${vmid}`);
        r.health = health;
        r.lastVerifiedAt = at;
      },
    },
    classes: {
      async createPerson(person, at) {
        if (s.people.some((p) => p.username === person.username))
          throw new DuplicateNameError('person', person.username);
        const record: PersonRecord = {
          id: id(),
          username: person.username,
          displayName: person.displayName,
          email: person.email ?? null,
          role: person.role,
          createdAt: at,
        };
        s.people.push(record);
        return copy(record);
      },
      async updatePerson(personId, patch) {
        const p = s.people.find((x) => x.id === personId);
        if (!p) throw new RecordNotFoundError('person', personId);
        if (patch.displayName !== undefined) p.displayName = patch.displayName;
        if (patch.email !== undefined) p.email = patch.email;
        if (patch.role !== undefined) p.role = patch.role;
        return copy(p);
      },
      async deletePerson(personId) {
        const before = s.people.length;
        s.people = s.people.filter((p) => p.id !== personId);
        if (s.people.length === before) return false;
        s.identities = s.identities.filter((i) => i.personId !== personId);
        s.members = s.members.filter((m) => m.personId !== personId);
        s.inviteUses = s.inviteUses.filter((u) => u.personId !== personId);
        s.sshKeys = s.sshKeys.filter((k) => k.personId !== personId);
        s.consoleGrants = s.consoleGrants.filter((g) => g.personId !== personId);
        s.joinRequests = s.joinRequests.filter((r) => r.personId !== personId);
        s.webSessions = s.webSessions.filter((w) => w.personId !== personId);
        s.linkCodes = s.linkCodes.filter((c) => c.personId !== personId);
        s.topUps = s.topUps.filter((t) => t.personId !== personId);
        s.invites.forEach((i) => {
          if (i.createdBy === personId) i.createdBy = null;
        });
        s.classes.forEach((c) => {
          if (c.ownerId === personId) c.ownerId = null;
        });
        s.assignments.forEach((a) => {
          if (a.personId === personId) a.personId = null;
        });
        return true;
      },
      async getPerson(personId) {
        return copy(s.people.find((p) => p.id === personId));
      },
      async getPeople(ids) {
        const wanted = new Set(ids);
        return copy(s.people.filter((p) => wanted.has(p.id)).sort((a, b) => a.id - b.id));
      },
      async getPersonByUsername(username) {
        return copy(s.people.find((p) => p.username === username));
      },
      async listPeople() {
        return copy([...s.people].sort(byString((p) => p.username)));
      },
      async setRole(personId, role) {
        const p = s.people.find((x) => x.id === personId);
        if (!p) throw new RecordNotFoundError('person', personId);
        p.role = role;
      },
      async linkIdentity(identity) {
        assertIdentityPlatformId(identity.platform);
        if (!s.people.some((p) => p.id === identity.personId))
          throw new UnknownReferenceError('person', identity.personId);
        const existing = s.identities.find(
          (i) => i.platform === identity.platform && i.externalId === identity.externalId,
        );
        if (existing && existing.personId !== identity.personId)
          throw new IdentityTakenError({ ...identity, ownerId: existing.personId });
        if (existing) return;
        if (s.identities.some((i) => i.personId === identity.personId && i.platform === identity.platform))
          throw new PersonAlreadyLinkedError(identity);
        s.identities.push(copy(identity));
      },
      async unlinkIdentity(platform, externalId) {
        const before = s.identities.length;
        s.identities = s.identities.filter((i) => !(i.platform === platform && i.externalId === externalId));
        return s.identities.length !== before;
      },
      async findByIdentity(platform, externalId) {
        const i = s.identities.find((x) => x.platform === platform && x.externalId === externalId);
        return copy(i && s.people.find((p) => p.id === i.personId));
      },
      async identitiesOf(personId) {
        return copy(
          s.identities.filter((i) => i.personId === personId).sort(byString((i) => `${i.platform}/${i.externalId}`)),
        );
      },
      async createClass(record, at) {
        if (s.classes.some((c) => c.id === record.id)) throw new DuplicateNameError('class', record.id);
        if (record.templateId !== null && !s.templates.some((t) => t.id === record.templateId))
          throw new UnknownReferenceError('template', record.templateId);
        if (record.ownerId !== null && !s.people.some((p) => p.id === record.ownerId))
          throw new UnknownReferenceError('person', record.ownerId);
        const full: ClassRecord = { ...record, pinnedNodes: record.pinnedNodes ?? null, createdAt: at };
        s.classes.push(full);
        return copy(full);
      },
      async updateClass(classId, patch) {
        const c = s.classes.find((x) => x.id === classId);
        if (!c) throw new RecordNotFoundError('class', classId);
        if (patch.templateId != null && !s.templates.some((t) => t.id === patch.templateId))
          throw new UnknownReferenceError('template', patch.templateId);
        if (patch.ownerId != null && !s.people.some((p) => p.id === patch.ownerId))
          throw new UnknownReferenceError('person', patch.ownerId);
        if (patch.name !== undefined) c.name = patch.name;
        if (patch.templateId !== undefined) c.templateId = patch.templateId;
        if (patch.ownerId !== undefined) c.ownerId = patch.ownerId;
        if (patch.pinnedNodes !== undefined) c.pinnedNodes = patch.pinnedNodes?.length ? [...patch.pinnedNodes] : null;
        return copy(c);
      },
      async getClass(classId) {
        return copy(s.classes.find((c) => c.id === classId));
      },
      async listClasses() {
        return copy([...s.classes].sort(byString((c) => c.id)));
      },
      async deleteClass(classId) {
        const before = s.classes.length;
        s.classes = s.classes.filter((c) => c.id !== classId);
        s.members = s.members.filter((m) => m.classId !== classId);
        const gone = new Set(s.invites.filter((i) => i.classId === classId).map((i) => i.codeHash));
        s.invites = s.invites.filter((i) => i.classId !== classId);
        s.inviteUses = s.inviteUses.filter((u) => !gone.has(u.codeHash));
        s.joinRequests = s.joinRequests.filter((r) => r.classId !== classId);
        s.classSettings = s.classSettings.filter((c) => c.classId !== classId);
        s.baseVersions = s.baseVersions.filter((v) => v.classId !== classId);
        s.schedules = s.schedules.filter((v) => v.classId !== classId);
        s.policies = s.policies.filter((v) => v.classId !== classId);
        s.classTerms = s.classTerms.filter((v) => v.classId !== classId);
        s.labDefinitions = s.labDefinitions.filter((v) => v.classId !== classId);
        s.topUps = s.topUps.filter((t) => t.classId !== classId);
        s.assignments.forEach((a) => {
          if (a.classId === classId) a.classId = null;
        });
        return s.classes.length < before;
      },
      async addMember(member) {
        if (!s.classes.some((c) => c.id === member.classId)) throw new UnknownReferenceError('class', member.classId);
        if (!s.people.some((p) => p.id === member.personId)) throw new UnknownReferenceError('person', member.personId);
        s.members = [
          ...s.members.filter((m) => !(m.classId === member.classId && m.personId === member.personId)),
          copy(member),
        ];
      },
      async removeMember(classId, personId) {
        const before = s.members.length;
        s.members = s.members.filter((m) => !(m.classId === classId && m.personId === personId));
        return s.members.length < before;
      },
      async members(classId) {
        return copy(s.members.filter((m) => m.classId === classId).sort((a, b) => a.personId - b.personId));
      },
      async classesOf(personId) {
        return copy(s.members.filter((m) => m.personId === personId).sort(byString((m) => m.classId)));
      },
      async assignVm(assignment, at) {
        if (assignment.personId !== null && !s.people.some((p) => p.id === assignment.personId))
          throw new UnknownReferenceError('person', assignment.personId);
        if (assignment.classId !== null && !s.classes.some((c) => c.id === assignment.classId))
          throw new UnknownReferenceError('class', assignment.classId);
        s.assignments = [
          ...s.assignments.filter((a) => !(a.clusterId === assignment.clusterId && a.vmid === assignment.vmid)),
          { ...copy(assignment), createdAt: at },
        ];
      },
      async unassignVm(clusterId, vmid) {
        const before = s.assignments.length;
        s.assignments = s.assignments.filter((a) => !(a.clusterId === clusterId && a.vmid === vmid));
        return s.assignments.length < before;
      },
      async assignment(clusterId, vmid) {
        return copy(s.assignments.find((a) => a.clusterId === clusterId && a.vmid === vmid));
      },
      async assignmentsOf(personId) {
        return copy(
          s.assignments
            .filter((a) => a.personId === personId)
            .sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.vmid - b.vmid),
        );
      },
      async assignmentsOfClass(classId) {
        return copy(
          s.assignments
            .filter((a) => a.classId === classId)
            .sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.vmid - b.vmid),
        );
      },
    },
    inventory: {
      async upsertMany(rows) {
        for (const row of rows) {
          // A row without a snapshot count (the sync's) keeps the one the lab last saw.
          const known = s.inventory.get(vmKey(row.clusterId, row.vmid))?.snapshots;
          const { snapshots, ...rest } = row;
          const count = snapshots ?? known;
          s.inventory.set(vmKey(row.clusterId, row.vmid), copy(count == null ? rest : { ...rest, snapshots: count }));
        }
      },
      async get(clusterId, vmid) {
        return copy(s.inventory.get(vmKey(clusterId, vmid)));
      },
      async list(filter: VmInventoryFilter = {}) {
        const rows = [...s.inventory.values()]
          .filter((vm) => matchesVm(vm, filter, s.assignments))
          .sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.vmid - b.vmid);
        return copy(filter.limit !== undefined ? rows.slice(0, filter.limit) : rows);
      },
      async listWithSyncStates(filter: VmInventoryFilter = {}) {
        return { vms: await raw.inventory.list(filter), syncStates: await raw.sync.listStates() };
      },
      async listSyncKeys(clusterId) {
        return [...s.inventory.values()]
          .filter((vm) => vm.clusterId === clusterId)
          .sort((a, b) => a.vmid - b.vmid)
          .map((vm) => ({
            vmid: vm.vmid,
            syncKey: vmSyncKey(vm),
            ip: vm.ip,
            flags: vmSyncFlags(vm),
          }));
      },
      async update(clusterId, vmid, patch) {
        const row = s.inventory.get(vmKey(clusterId, vmid));
        if (!row) return false;
        Object.assign(row, copy(patch));
        return true;
      },
      async markGone(clusterId, presentVmids, at) {
        const present = new Set(presentVmids);
        let n = 0;
        for (const row of s.inventory.values()) {
          if (row.clusterId === clusterId && row.goneAt === null && !present.has(row.vmid)) {
            row.goneAt = at;
            n++;
          }
        }
        return n;
      },
      async refreshListed(clusterId, readings, at) {
        for (const reading of readings) {
          const row = s.inventory.get(vmKey(clusterId, reading.vmid));
          if (row) Object.assign(row, { ...reading, vmid: row.vmid });
        }
        for (const row of s.inventory.values())
          if (row.clusterId === clusterId && row.goneAt === null) row.lastUpdated = at;
      },
      async count(clusterId) {
        return [...s.inventory.values()].filter((r) => clusterId === undefined || r.clusterId === clusterId).length;
      },
    },
    deployments: {
      async create(deployment, items) {
        if (s.deployments.some((d) => d.id === deployment.id))
          throw new DuplicateNameError('deployment', deployment.id);
        const names = new Set(items.map((i) => i.name));
        if (names.size !== items.length)
          throw new DuplicateNameError(
            'deployment item',
            items.find((i, n) => items.findIndex((j) => j.name === i.name) !== n)!.name,
          );
        s.deployments.push(copy(deployment));
        s.items.push(...copy(items));
      },
      async get(deploymentId) {
        return copy(s.deployments.find((d) => d.id === deploymentId));
      },
      async list(filter = {}) {
        return copy(
          s.deployments
            .filter(
              (d) =>
                (filter.classId === undefined || d.classId === filter.classId) &&
                (filter.status === undefined || d.status === filter.status),
            )
            .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id)),
        );
      },
      async unfinished() {
        return copy(
          s.deployments
            .filter((d) => d.status === 'planned' || d.status === 'running')
            .sort((a, b) => a.createdAt - b.createdAt),
        );
      },
      async update(deploymentId, patch, at) {
        const d = s.deployments.find((x) => x.id === deploymentId);
        if (!d) throw new RecordNotFoundError('deployment', deploymentId);
        Object.assign(d, copy(patch), { updatedAt: at });
      },
      async items(deploymentId) {
        return copy(s.items.filter((i) => i.deploymentId === deploymentId).sort(byString((i) => i.name)));
      },
      async upsertItem(item) {
        if (!s.deployments.some((d) => d.id === item.deploymentId))
          throw new UnknownReferenceError('deployment', item.deploymentId);
        s.items = [
          ...s.items.filter((i) => !(i.deploymentId === item.deploymentId && i.name === item.name)),
          copy(item),
        ];
      },
      async updateItem(deploymentId, name, patch) {
        const i = s.items.find((x) => x.deploymentId === deploymentId && x.name === name);
        if (!i) throw new RecordNotFoundError('deployment item', `${deploymentId}/${name}`);
        Object.assign(i, copy(patch));
      },
    },
    sync: {
      async getState(clusterId) {
        return copy(s.syncStates.find((x) => x.clusterId === clusterId));
      },
      async listStates() {
        return copy([...s.syncStates].sort(byString((x) => x.clusterId)));
      },
      async saveState(state) {
        s.syncStates = [...s.syncStates.filter((x) => x.clusterId !== state.clusterId), copy(state)];
      },
      async acquireLease(name, holder, ttlMs, now) {
        const lease = s.leases.find((l) => l.name === name);
        if (lease && lease.holder !== holder && lease.expiresAt >= now) return false;
        s.leases = [...s.leases.filter((l) => l.name !== name), { name, holder, expiresAt: now + ttlMs }];
        return true;
      },
      async releaseLease(name, holder) {
        s.leases = s.leases.filter((l) => !(l.name === name && l.holder === holder));
      },
      async liveLeases(prefix, now) {
        return copy(
          s.leases
            .filter((l) => l.name.startsWith(prefix) && l.expiresAt >= now)
            .sort((a, b) => a.name.localeCompare(b.name)),
        );
      },
      async getLease(name) {
        return copy(s.leases.find((l) => l.name === name));
      },
    },
    nonces: {
      async claim(key, expiresAt, now) {
        const live = s.nonces.get(key);
        if (live && live.expiresAt >= now) return false;
        s.nonces.set(key, { payload: null, expiresAt });
        return true;
      },
      async put(key, payload, expiresAt, now) {
        const live = s.nonces.get(key);
        if (live && live.expiresAt >= now) throw new DuplicateNameError('one-time key', key);
        s.nonces.set(key, { payload: copy(payload), expiresAt });
      },
      async take(key, now) {
        const live = s.nonces.get(key);
        s.nonces.delete(key);
        return live && live.expiresAt >= now ? copy(live.payload) : undefined;
      },
      async peek(key, now) {
        const live = s.nonces.get(key);
        return live && live.expiresAt >= now ? copy(live.payload) : undefined;
      },
      async prune(now) {
        let n = 0;
        for (const [key, value] of s.nonces) {
          if (value.expiresAt < now) {
            s.nonces.delete(key);
            n++;
          }
        }
        return n;
      },
    },
    invites: {
      async create(invite) {
        if (!s.classes.some((c) => c.id === invite.classId)) throw new UnknownReferenceError('class', invite.classId);
        if (invite.createdBy !== null && !s.people.some((p) => p.id === invite.createdBy))
          throw new UnknownReferenceError('person', invite.createdBy);
        if (s.invites.some((i) => i.codeHash === invite.codeHash))
          throw new DuplicateNameError('invite', invite.codeHash.slice(0, 8));
        const record: InviteRecord = { ...copy(invite), uses: 0 };
        s.invites.push(record);
        return copy(record);
      },
      async get(codeHash) {
        return copy(s.invites.find((i) => i.codeHash === codeHash));
      },
      async listForClass(classId) {
        return copy(
          s.invites
            .filter((i) => i.classId === classId)
            .sort((a, b) => b.createdAt - a.createdAt || a.codeHash.localeCompare(b.codeHash)),
        );
      },
      async redeem(codeHash, personId, now) {
        const invite = s.invites.find((i) => i.codeHash === codeHash);
        if (!invite) return 'unknown';
        if (now > invite.expiresAt) return 'expired';
        if (s.inviteUses.some((u) => u.codeHash === codeHash && u.personId === personId)) return 'already-used';
        if (invite.uses >= invite.maxUses) return 'used-up';
        if (!s.people.some((p) => p.id === personId)) throw new UnknownReferenceError('person', personId);
        invite.uses++;
        s.inviteUses.push({ codeHash, personId, usedAt: now });
        return 'ok';
      },
      async revoke(codeHash) {
        const before = s.invites.length;
        s.invites = s.invites.filter((i) => i.codeHash !== codeHash);
        s.inviteUses = s.inviteUses.filter((u) => u.codeHash !== codeHash);
        return s.invites.length < before;
      },
      async requestJoin(request) {
        if (!s.classes.some((c) => c.id === request.classId)) throw new UnknownReferenceError('class', request.classId);
        if (!s.people.some((p) => p.id === request.personId))
          throw new UnknownReferenceError('person', request.personId);
        if (s.joinRequests.some((r) => r.id === request.id)) throw new DuplicateNameError('join request', request.id);
        s.joinRequests.push(copy(request));
      },
      async joinRequest(id) {
        return copy(s.joinRequests.find((r) => r.id === id));
      },
      async joinRequests(filter = {}) {
        return copy(
          s.joinRequests
            .filter((r) => filter.classId === undefined || r.classId === filter.classId)
            .filter((r) => filter.status === undefined || r.status === filter.status)
            .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)),
        );
      },
      async decideJoin(id, decision, decidedBy, now) {
        const r = s.joinRequests.find((x) => x.id === id);
        if (!r || r.status !== 'pending' || now > r.expiresAt) return undefined;
        Object.assign(r, { status: decision, decidedBy, decidedAt: now });
        return copy(r);
      },
    },
    rateLimits: {
      async hit(key, limit, windowMs, now) {
        const c = s.rateCounters.get(key);
        const current = c && now - c.windowStart < windowMs ? c : { windowStart: now, count: 0 };
        if (current.count >= limit) return { allowed: false, count: current.count };
        s.rateCounters.set(key, { windowStart: current.windowStart, count: current.count + 1 });
        return { allowed: true, count: current.count + 1 };
      },
      async giveBack(key) {
        const c = s.rateCounters.get(key);
        if (c && c.count > 0) s.rateCounters.set(key, { ...c, count: c.count - 1 });
      },
    },
    sshKeys: {
      async add(record) {
        if (!s.people.some((p) => p.id === record.personId)) throw new UnknownReferenceError('person', record.personId);
        if (s.sshKeys.some((k) => k.personId === record.personId && k.fingerprint === record.fingerprint)) return false;
        s.sshKeys.push(copy(record));
        return true;
      },
      async list(personId) {
        return copy(
          s.sshKeys
            .filter((k) => k.personId === personId)
            .sort((a, b) => a.addedAt - b.addedAt || a.fingerprint.localeCompare(b.fingerprint)),
        );
      },
      async remove(personId, fingerprint) {
        const before = s.sshKeys.length;
        s.sshKeys = s.sshKeys.filter((k) => !(k.personId === personId && k.fingerprint === fingerprint));
        return s.sshKeys.length < before;
      },
    },
    classLifecycle: {
      async settings(classId) {
        return copy(s.classSettings.find((c) => c.classId === classId));
      },
      async saveSettings(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        s.classSettings = [...s.classSettings.filter((c) => c.classId !== record.classId), copy(record)];
      },
      async addBaseVersion(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        if (s.baseVersions.some((v) => v.classId === record.classId && v.version === record.version))
          throw new DuplicateNameError('base version', `${record.classId} v${record.version}`);
        s.baseVersions.push(copy(record));
      },
      async baseVersions(classId) {
        return copy(s.baseVersions.filter((v) => v.classId === classId).sort((a, b) => a.version - b.version));
      },
      async removeBaseVersion(classId, version) {
        const before = s.baseVersions.length;
        s.baseVersions = s.baseVersions.filter((v) => !(v.classId === classId && v.version === version));
        return s.baseVersions.length < before;
      },
    },
    schedules: {
      async add(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        const row = { id: id(), ...copy(record) };
        s.schedules.push(row);
        return copy(row);
      },
      async list(classId) {
        return copy(
          s.schedules
            .filter((r) => classId === undefined || r.classId === classId)
            .sort((a, b) => a.classId.localeCompare(b.classId) || a.id - b.id),
        );
      },
      async remove(classId, scheduleId) {
        const before = s.schedules.length;
        s.schedules = s.schedules.filter((r) => !(r.classId === classId && r.id === scheduleId));
        return s.schedules.length < before;
      },
    },
    usage: {
      async policy(classId) {
        return copy(s.policies.find((p) => p.classId === classId));
      },
      async savePolicy(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        // Optional fields at their default are kept as absent, as the SQL stores read them back.
        const { idleInSessions, maxSnapshots, idleUsers, consoleNeverIdle, neverConnectedMinutes, ...rest } = record;
        s.policies = [
          ...s.policies.filter((p) => p.classId !== record.classId),
          copy({
            ...rest,
            ...(idleInSessions ? { idleInSessions } : {}),
            ...(maxSnapshots !== undefined && maxSnapshots !== DEFAULT_MAX_SNAPSHOTS ? { maxSnapshots } : {}),
            ...(idleUsers ? { idleUsers } : {}),
            ...(consoleNeverIdle === false ? { consoleNeverIdle } : {}),
            ...(neverConnectedMinutes != null ? { neverConnectedMinutes } : {}),
          }),
        ];
      },
      async openInterval(clusterId, vmid, at) {
        if (s.usage.some((u) => u.clusterId === clusterId && u.vmid === vmid && u.endedAt === null)) return false;
        s.usage.push({ clusterId, vmid, startedAt: at, endedAt: null });
        return true;
      },
      async closeInterval(clusterId, vmid, at) {
        const open = s.usage.find((u) => u.clusterId === clusterId && u.vmid === vmid && u.endedAt === null);
        if (!open) return false;
        open.endedAt = Math.max(at, open.startedAt);
        return true;
      },
      async intervals(vms, since) {
        const keys = new Set(vms.map((v) => vmKey(v.clusterId, v.vmid)));
        return copy(
          s.usage
            .filter(
              (u) =>
                keys.has(vmKey(u.clusterId, u.vmid)) &&
                (since === undefined || u.endedAt === null || u.endedAt >= since),
            )
            .sort((a, b) => a.startedAt - b.startedAt || a.vmid - b.vmid),
        );
      },
      async idle(clusterId, vmid) {
        return copy(s.idle.find((r) => r.clusterId === clusterId && r.vmid === vmid));
      },
      async idleOf(vms) {
        const keys = new Set(vms.map((v) => vmKey(v.clusterId, v.vmid)));
        return copy(s.idle.filter((r) => keys.has(vmKey(r.clusterId, r.vmid))));
      },
      async saveIdle(record) {
        s.idle = [...s.idle.filter((r) => !(r.clusterId === record.clusterId && r.vmid === record.vmid)), copy(record)];
      },
      async clearIdle(clusterId, vmid) {
        const before = s.idle.length;
        s.idle = s.idle.filter((r) => !(r.clusterId === clusterId && r.vmid === vmid));
        return s.idle.length < before;
      },
      async addTopUp(record) {
        const first = s.topUps.find((t) => t.idempotencyKey === record.idempotencyKey);
        if (first) return { applied: false, topUp: copy(first) };
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        if (!s.people.some((p) => p.id === record.personId)) throw new UnknownReferenceError('person', record.personId);
        const topUp = { id: id(), ...copy(record) };
        s.topUps.push(topUp);
        return { applied: true, topUp: copy(topUp) };
      },
      async topUps(classId, personId) {
        return copy(
          s.topUps
            .filter((t) => t.classId === classId && (personId === undefined || t.personId === personId))
            .sort((a, b) => a.at - b.at || a.id - b.id),
        );
      },
    },
    audit: {
      async record(entry) {
        s.audit.push({ id: id(), ...copy(entry) });
      },
      async list(filter = {}) {
        const rows = s.audit
          .filter(
            (a) =>
              (filter.actor === undefined || a.actor === filter.actor) &&
              (filter.action === undefined || a.action === filter.action) &&
              (filter.targets === undefined || filter.targets.includes(a.target)) &&
              (filter.since === undefined || a.at >= filter.since),
          )
          .sort((a, b) => b.at - a.at || b.id - a.id);
        return copy(filter.limit !== undefined ? rows.slice(0, filter.limit) : rows);
      },
      async latestByTarget(targets, filter) {
        const wanted = new Set(targets);
        const latest = new Map<string, AuditRecord>();
        for (const a of s.audit) {
          if (!wanted.has(a.target) || !a.action.startsWith(filter.actionPrefix) || a.outcome !== filter.outcome)
            continue;
          const seen = latest.get(a.target);
          if (!seen || a.at > seen.at || (a.at === seen.at && a.id > seen.id)) latest.set(a.target, a);
        }
        return copy([...latest.values()]);
      },
      async prune(before) {
        const count = s.audit.length;
        s.audit = s.audit.filter((a) => a.at >= before);
        return count - s.audit.length;
      },
    },
    consoleGrants: {
      async create(grant) {
        if (!s.people.some((p) => p.id === grant.personId)) throw new UnknownReferenceError('person', grant.personId);
        if (s.consoleGrants.some((g) => g.tokenHash === grant.tokenHash))
          throw new DuplicateNameError('console link', grant.tokenHash.slice(0, 8));
        s.consoleGrants.push({ ...copy(grant), usedAt: null });
      },
      async get(tokenHash) {
        return copy(s.consoleGrants.find((g) => g.tokenHash === tokenHash));
      },
      async redeem(tokenHash, now) {
        const grant = s.consoleGrants.find((g) => g.tokenHash === tokenHash);
        if (!grant) return { outcome: 'unknown' };
        if (grant.usedAt !== null) return { outcome: 'used', grant: copy(grant) };
        if (now > grant.expiresAt) return { outcome: 'expired', grant: copy(grant) };
        grant.usedAt = now;
        return { outcome: 'ok', grant: copy(grant) };
      },
      async prune(before) {
        const count = s.consoleGrants.length;
        s.consoleGrants = s.consoleGrants.filter((g) => g.expiresAt >= before);
        return count - s.consoleGrants.length;
      },
    },
    webSessions: {
      async create(session) {
        if (!s.people.some((p) => p.id === session.personId))
          throw new UnknownReferenceError('person', session.personId);
        if (s.webSessions.some((w) => w.idHash === session.idHash))
          throw new DuplicateNameError('web session', session.idHash.slice(0, 8));
        const record: WebSessionRecord = { ...copy(session), lastSeenAt: session.createdAt, revokedAt: null };
        s.webSessions.push(record);
        return copy(record);
      },
      async get(idHash) {
        return copy(s.webSessions.find((w) => w.idHash === idHash));
      },
      async touch(idHash, at) {
        const session = s.webSessions.find((w) => w.idHash === idHash);
        if (!session) return false;
        session.lastSeenAt = Math.max(session.lastSeenAt, at);
        return true;
      },
      async revoke(idHash, at) {
        const session = s.webSessions.find((w) => w.idHash === idHash && w.revokedAt === null);
        if (!session) return false;
        session.revokedAt = at;
        return true;
      },
      async revokeForPerson(personId, at) {
        const working = s.webSessions.filter((w) => w.personId === personId && w.revokedAt === null);
        working.forEach((w) => (w.revokedAt = at));
        return working.length;
      },
      async prune(before) {
        const count = s.webSessions.length;
        s.webSessions = s.webSessions.filter((w) => w.expiresAt >= before);
        return count - s.webSessions.length;
      },
    },
    linkCodes: {
      async create(code) {
        if (!s.people.some((p) => p.id === code.personId)) throw new UnknownReferenceError('person', code.personId);
        if (s.linkCodes.some((c) => c.codeHash === code.codeHash))
          throw new DuplicateNameError('link code', code.codeHash.slice(0, 8));
        s.linkCodes = s.linkCodes.filter((c) => !(c.personId === code.personId && c.usedAt === null));
        s.linkCodes.push({ ...copy(code), usedAt: null, usedBy: null });
      },
      async get(codeHash) {
        return copy(s.linkCodes.find((c) => c.codeHash === codeHash));
      },
      async redeem(codeHash, usedBy, now) {
        const code = s.linkCodes.find((c) => c.codeHash === codeHash);
        if (!code) return { outcome: 'unknown' };
        if (code.usedAt !== null) return { outcome: 'used', code: copy(code) };
        if (now > code.expiresAt) return { outcome: 'expired', code: copy(code) };
        code.usedAt = now;
        code.usedBy = usedBy;
        return { outcome: 'ok', code: copy(code) };
      },
      async prune(before) {
        const count = s.linkCodes.length;
        s.linkCodes = s.linkCodes.filter((c) => c.expiresAt >= before);
        return count - s.linkCodes.length;
      },
    },
    classTerms: {
      async get(classId) {
        return copy(s.classTerms.find((t) => t.classId === classId));
      },
      async list() {
        return copy([...s.classTerms].sort(byString((t) => t.classId)));
      },
      async save(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        s.classTerms = [...s.classTerms.filter((t) => t.classId !== record.classId), copy(record)];
      },
    },
    sdn: {
      async list(clusterId, filter = {}) {
        return copy(
          s.sdn
            .filter((r) => r.clusterId === clusterId && (filter.classId === undefined || r.classId === filter.classId))
            .sort((a, b) => (a.kind === b.kind ? a.objectId.localeCompare(b.objectId) : a.kind === 'zone' ? -1 : 1)),
        );
      },
      async get(clusterId, objectId) {
        return copy(s.sdn.find((r) => r.clusterId === clusterId && r.objectId === objectId));
      },
      async reserve(record) {
        const clash = s.sdn.some(
          (r) =>
            r.clusterId === record.clusterId &&
            (r.objectId === record.objectId ||
              (record.cidr !== null && r.cidr === record.cidr) ||
              (record.tag !== null && r.zone === record.zone && r.tag === record.tag) ||
              (record.kind === 'vnet' &&
                r.kind === 'vnet' &&
                r.classId === record.classId &&
                r.student === record.student)),
        );
        if (clash) return false;
        s.sdn.push(copy(record));
        return true;
      },
      async setState(clusterId, objectId, state, at) {
        const r = s.sdn.find((x) => x.clusterId === clusterId && x.objectId === objectId);
        if (!r) return false;
        r.state = state;
        r.updatedAt = at;
        return true;
      },
      async remove(clusterId, objectId) {
        const before = s.sdn.length;
        s.sdn = s.sdn.filter((x) => !(x.clusterId === clusterId && x.objectId === objectId));
        return s.sdn.length < before;
      },
    },
    labDefinitions: {
      async get(classId) {
        return copy(s.labDefinitions.find((t) => t.classId === classId));
      },
      async list() {
        return copy([...s.labDefinitions].sort(byString((t) => t.classId)));
      },
      async save(record) {
        if (!s.classes.some((c) => c.id === record.classId)) throw new UnknownReferenceError('class', record.classId);
        s.labDefinitions = [...s.labDefinitions.filter((t) => t.classId !== record.classId), copy(record)];
      },
      async delete(classId) {
        const before = s.labDefinitions.length;
        s.labDefinitions = s.labDefinitions.filter((t) => t.classId !== classId);
        return s.labDefinitions.length < before;
      },
    },
    transaction: (fn) => {
      try {
        guard.assertOutside('transaction');
      } catch (error) {
        return Promise.reject(error);
      }
      return lock.run(async () => {
        const snapshot = structuredClone(s);
        // Inside, `transaction` joins the open one and the repositories skip the lock it holds.
        const joined: Store = { ...raw, transaction: (inner) => inner(joined) };
        try {
          return await guard.run(() => fn(joined));
        } catch (error) {
          s = snapshot;
          throw error;
        }
      });
    },
    close: async () => undefined,
  };
  const store: Store = {
    clusters: serialized(raw.clusters, 'clusters', lock, guard),
    templates: serialized(raw.templates, 'templates', lock, guard),
    templateInventory: serialized(raw.templateInventory, 'templateInventory', lock, guard),
    classes: serialized(raw.classes, 'classes', lock, guard),
    inventory: serialized(raw.inventory, 'inventory', lock, guard),
    deployments: serialized(raw.deployments, 'deployments', lock, guard),
    sync: serialized(raw.sync, 'sync', lock, guard),
    nonces: serialized(raw.nonces, 'nonces', lock, guard),
    invites: serialized(raw.invites, 'invites', lock, guard),
    sshKeys: serialized(raw.sshKeys, 'sshKeys', lock, guard),
    classLifecycle: serialized(raw.classLifecycle, 'classLifecycle', lock, guard),
    schedules: serialized(raw.schedules, 'schedules', lock, guard),
    usage: serialized(raw.usage, 'usage', lock, guard),
    audit: serialized(raw.audit, 'audit', lock, guard),
    consoleGrants: serialized(raw.consoleGrants, 'consoleGrants', lock, guard),
    rateLimits: serialized(raw.rateLimits, 'rateLimits', lock, guard),
    webSessions: serialized(raw.webSessions, 'webSessions', lock, guard),
    linkCodes: serialized(raw.linkCodes, 'linkCodes', lock, guard),
    classTerms: serialized(raw.classTerms, 'classTerms', lock, guard),
    sdn: serialized(raw.sdn, 'sdn', lock, guard),
    labDefinitions: serialized(raw.labDefinitions, 'labDefinitions', lock, guard),
    transaction: (fn) => raw.transaction(fn),
    close: () => raw.close(),
  };
  return store;
}

import type {
  AuditRecord,
  ClassRecord,
  DeploymentItemRecord,
  DeploymentRecord,
  PersonRecord,
  TemplateInventoryRecord,
  VmInventoryRecord,
} from '@lab/proxmox-sdk';
import type { InviteRecord, SyncStateRecord, TemplateRecord, VmAssignmentRecord } from '@lab/proxmox-sdk/store';
import { vmSyncKey } from '@lab/proxmox-sdk/store';
import type { Selectable } from 'kysely';
import type { Database } from './database.js';
import { read, rowSchemas as schemas } from './row-schemas.js';

type Row<T extends keyof Database> = Selectable<Database[T]>;

const flag = (b: boolean): number => (b ? 1 : 0);

const VM_COLUMNS: Record<keyof VmInventoryRecord, keyof Row<'vm_inventory'>> = {
  clusterId: 'cluster_id',
  vmid: 'vmid',
  name: 'name',
  node: 'node',
  status: 'status',
  ip: 'ip',
  type: 'type',
  category: 'category',
  memory: 'memory',
  cores: 'cores',
  diskSize: 'disk_size',
  uptime: 'uptime',
  cpuUsage: 'cpu_usage',
  memoryUsage: 'memory_usage',
  isTemplate: 'is_template',
  tags: 'tags',
  rdpAvailable: 'rdp_available',
  sshAvailable: 'ssh_available',
  lastUpdated: 'last_updated',
  lastStatusCheck: 'last_status_check',
  syncError: 'sync_error',
  goneAt: 'gone_at',
  snapshots: 'snapshots',
};
const bool = (n: number): boolean => n === 1;
/** The record fields a row's sync key covers: a patch to one of them forgets the key. */
const SYNC_KEY_FIELDS: ReadonlySet<string> = new Set<keyof VmInventoryRecord>([
  'name',
  'node',
  'status',
  'type',
  'memory',
  'cores',
  'diskSize',
  'isTemplate',
  'tags',
]);

/** Row ↔ record conversions; flags are 0/1 and JSON is text in both engines. */
export const mappers = {
  flag,
  template: (r: Row<'templates'>): TemplateRecord => ({
    id: r.id,
    name: r.name,
    description: r.description,
    memory: r.memory,
    cores: r.cores,
    isActive: bool(r.is_active),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }),
  templateInventory: (r: Row<'template_inventory'>): TemplateInventoryRecord => ({
    clusterId: r.cluster_id,
    node: r.node,
    vmid: r.vmid,
    name: r.name,
    isReplica: bool(r.is_replica),
    sourceVmid: r.source_vmid,
    sourceNode: r.source_node,
    isClassTemplate: bool(r.is_class_template),
    classId: r.class_id,
    lastVerifiedAt: r.last_verified_at,
    health: read(schemas.templateHealth, r.health, 'template health'),
    vanishedAt: r.vanished_at,
  }),
  templateInventoryRow: (t: TemplateInventoryRecord): Row<'template_inventory'> => ({
    cluster_id: t.clusterId,
    node: t.node,
    vmid: t.vmid,
    name: t.name,
    is_replica: flag(t.isReplica),
    source_vmid: t.sourceVmid,
    source_node: t.sourceNode,
    is_class_template: flag(t.isClassTemplate),
    class_id: t.classId,
    last_verified_at: t.lastVerifiedAt,
    health: t.health,
    vanished_at: null,
  }),
  person: (r: Row<'people'>): PersonRecord => ({
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    email: r.email ?? null,
    role: read(schemas.personRole, r.role, 'person role'),
    createdAt: r.created_at,
  }),
  invite: (r: Row<'invites'>): InviteRecord => ({
    codeHash: r.code_hash,
    classId: r.class_id,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    maxUses: r.max_uses,
    uses: r.uses,
  }),
  class: (r: Row<'classes'>): ClassRecord => ({
    id: r.id,
    name: r.name,
    templateId: r.template_id,
    ownerId: r.owner_id,
    createdAt: r.created_at,
    pinnedNodes: r.pinned_nodes ? r.pinned_nodes.split(',') : null,
  }),
  assignment: (r: Row<'vm_assignments'>): VmAssignmentRecord => ({
    clusterId: r.cluster_id,
    vmid: r.vmid,
    personId: r.person_id,
    classId: r.class_id,
    role: read(schemas.vmRole, r.role, 'VM role'),
    createdAt: r.created_at,
  }),
  vm: (r: Row<'vm_inventory'>): VmInventoryRecord => ({
    clusterId: r.cluster_id,
    ...mappers.vmSyncFields(r),
    category: read(schemas.vmCategory, r.category, 'VM category'),
    lastUpdated: r.last_updated,
    lastStatusCheck: r.last_status_check,
    syncError: r.sync_error,
    ...(r.snapshots === null ? {} : { snapshots: r.snapshots }),
  }),
  vmSyncFields: (
    r: Pick<
      Row<'vm_inventory'>,
      | 'vmid'
      | 'name'
      | 'node'
      | 'status'
      | 'ip'
      | 'type'
      | 'memory'
      | 'cores'
      | 'disk_size'
      | 'uptime'
      | 'cpu_usage'
      | 'memory_usage'
      | 'is_template'
      | 'tags'
      | 'rdp_available'
      | 'ssh_available'
      | 'gone_at'
    >,
  ): Omit<
    VmInventoryRecord,
    'clusterId' | 'category' | 'lastUpdated' | 'lastStatusCheck' | 'syncError' | 'snapshots'
  > => ({
    vmid: r.vmid,
    name: r.name,
    node: r.node,
    status: r.status,
    ip: r.ip,
    type: read(schemas.vmType, r.type, 'VM type'),
    memory: r.memory,
    cores: r.cores,
    diskSize: r.disk_size,
    uptime: r.uptime,
    cpuUsage: r.cpu_usage,
    memoryUsage: r.memory_usage,
    isTemplate: bool(r.is_template),
    tags: r.tags,
    rdpAvailable: bool(r.rdp_available),
    sshAvailable: bool(r.ssh_available),
    goneAt: r.gone_at,
  }),
  vmRow: (v: VmInventoryRecord): Row<'vm_inventory'> => ({
    cluster_id: v.clusterId,
    vmid: v.vmid,
    name: v.name,
    node: v.node,
    status: v.status,
    ip: v.ip,
    type: v.type,
    category: v.category,
    memory: v.memory,
    cores: v.cores,
    disk_size: v.diskSize,
    uptime: v.uptime,
    cpu_usage: v.cpuUsage,
    memory_usage: v.memoryUsage,
    is_template: flag(v.isTemplate),
    tags: v.tags,
    rdp_available: flag(v.rdpAvailable),
    ssh_available: flag(v.sshAvailable),
    last_updated: v.lastUpdated,
    last_status_check: v.lastStatusCheck,
    sync_error: v.syncError,
    gone_at: v.goneAt,
    snapshots: v.snapshots ?? null,
    sync_key: vmSyncKey(v),
  }),
  vmPatch: (patch: Partial<VmInventoryRecord>): Partial<Row<'vm_inventory'>> => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      const column = VM_COLUMNS[key as keyof VmInventoryRecord];
      out[column] = typeof value === 'boolean' ? flag(value) : value;
      if (SYNC_KEY_FIELDS.has(key)) out.sync_key = null;
    }
    return out;
  },
  deployment: (r: Row<'deployments'>): DeploymentRecord => ({
    id: r.id,
    classId: r.class_id,
    clusterId: r.cluster_id,
    spec: read(schemas.deploymentSpec, r.spec, `spec of deployment ${r.id}`),
    status: read(schemas.deploymentStatus, r.status, 'deployment status'),
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    error: r.error,
    ...(r.notify !== null
      ? { notify: read(schemas.notifyTarget, r.notify, `notify target of deployment ${r.id}`) }
      : {}),
  }),
  item: (r: Row<'deployment_items'>): DeploymentItemRecord => ({
    deploymentId: r.deployment_id,
    name: r.name,
    kind: read(schemas.itemKind, r.kind, 'deployment item kind'),
    personId: r.person_id,
    node: r.node,
    vmid: r.vmid,
    status: read(schemas.itemStatus, r.status, 'deployment item status'),
    attempt: r.attempt,
    error: r.error,
    updatedAt: r.updated_at,
  }),
  itemRow: (i: DeploymentItemRecord): Row<'deployment_items'> => ({
    deployment_id: i.deploymentId,
    name: i.name,
    kind: i.kind,
    person_id: i.personId,
    node: i.node,
    vmid: i.vmid,
    status: i.status,
    attempt: i.attempt,
    error: i.error,
    updated_at: i.updatedAt,
  }),
  syncState: (r: Row<'sync_state'>): SyncStateRecord => ({
    clusterId: r.cluster_id,
    lastFullSyncAt: r.last_full_sync_at,
    lastQuickSyncAt: r.last_quick_sync_at,
    lastSuccessAt: r.last_success_at,
    consecutiveErrors: r.consecutive_errors,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
  }),
  audit: (r: Row<'audit_log'>): AuditRecord => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: read(schemas.auditOutcome, r.outcome, 'audit outcome'),
    details: read(schemas.auditDetails, r.details, `details of audit entry ${r.id}`),
  }),
};

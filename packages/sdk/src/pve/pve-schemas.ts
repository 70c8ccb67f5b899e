import { z } from 'zod';

/** PVE sends numbers of some lists as strings; both are read as a number. */
const numeric = z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number);

/** One entry of `GET /cluster/resources`: every field the SDK reads, of any type (vm, node, storage). */
export const clusterResourceSchema = z
  .object({
    type: z.string(),
    id: z.string().optional(),
    node: z.string().optional(),
    vmid: numeric.optional(),
    name: z.string().optional(),
    status: z.string().optional(),
    template: z.union([z.number(), z.string()]).optional(),
    tags: z.string().optional(),
    lock: z.string().optional(),
    pool: z.string().optional(),
    uptime: z.number().optional(),
    cpu: z.number().optional(),
    maxcpu: z.number().optional(),
    mem: z.number().optional(),
    maxmem: z.number().optional(),
    disk: z.number().optional(),
    maxdisk: z.number().optional(),
    storage: z.string().optional(),
    shared: z.number().optional(),
    /** A storage entry's type (`lvmthin`, `dir`, …: pve-manager `API2Tools.pm` extract_storage_stats). */
    plugintype: z.string().optional(),
  })
  .loose();

/** The entry types `GET /cluster/resources` may list (its return schema's `type` enum). */
export const CLUSTER_RESOURCE_TYPES = ['node', 'storage', 'pool', 'qemu', 'lxc', 'openvz', 'sdn', 'network'] as const;

/**
 * The statuses a guest entry may carry: pvestatd's `running`/`stopped`, or `unknown` while it has
 * not reported the guest yet or its node is offline (pve-manager `PVE/API2Tools.pm` extract_vm_stats).
 */
export const GUEST_RESOURCE_STATUSES = ['running', 'stopped', 'unknown'] as const;

/** The VMIDs PVE allows (`pve-vmid`: 100–999999999). */
export const VMID_RANGE = { min: 100, max: 999_999_999 } as const;

/**
 * The whole `GET /cluster/resources` list, refused (not filtered) when an entry cannot be trusted: a
 * type PVE does not list, a guest without node or with a VMID that is not an integer in range, a
 * status a guest cannot have, or one VMID on two entries. Dropping such an entry would make a
 * sync mark a real VM gone; keeping it would add a phantom one.
 */
const checkedClusterResources = clusterResourceSchema.array().superRefine((entries, ctx) => {
  const seen = new Map<number, number>();
  entries.forEach((entry, index) => {
    const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [index, field], message });
    if (!(CLUSTER_RESOURCE_TYPES as readonly string[]).includes(entry.type)) {
      issue('type', `unknown resource type '${entry.type}'`);
      return;
    }
    if (entry.type !== 'qemu' && entry.type !== 'lxc') return;
    if (!entry.node) issue('node', 'a guest entry has no node');
    const vmid = entry.vmid;
    if (vmid === undefined) issue('vmid', 'a guest entry has no VMID');
    else if (!Number.isInteger(vmid) || vmid < VMID_RANGE.min || vmid > VMID_RANGE.max)
      issue('vmid', `VMID ${vmid} is not an integer from ${VMID_RANGE.min} to ${VMID_RANGE.max}`);
    else if (seen.has(vmid)) issue('vmid', `VMID ${vmid} is also listed at data[${seen.get(vmid)}]`);
    else seen.set(vmid, index);
    if (entry.status !== undefined && !(GUEST_RESOURCE_STATUSES as readonly string[]).includes(entry.status))
      issue('status', `unknown guest status '${entry.status}'`);
  });
});

const TYPES: ReadonlySet<unknown> = new Set(CLUSTER_RESOURCE_TYPES);
const STATUSES: ReadonlySet<unknown> = new Set(GUEST_RESOURCE_STATUSES);
const isText = (v: unknown): boolean => v === undefined || typeof v === 'string';
const isFiniteNumber = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v));

/**
 * Whether `data` passes every check of `checkedClusterResources` with nothing to convert (VMIDs
 * already numbers), so that it can be used as it is. A hand-written copy of those checks: a sync
 * reads 10,000 entries per cluster every 30 s, and zod's walk over them (and the copy of every
 * entry it returns) was the largest part of a quick sync's CPU time after the store's writes. Each
 * field is read by name (entries parsed from one answer share a shape, so these reads stay fast).
 * Anything it does not accept goes through zod, which then converts or reports the issues.
 */
function isTrustedResourceList(data: unknown): data is ClusterResourceEntry[] {
  if (!Array.isArray(data)) return false;
  const seen = new Set<number>();
  for (const entry of data as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return false;
    const e = entry as Record<string, unknown>;
    if (!TYPES.has(e.type)) return false;
    if (
      !isText(e.id) ||
      !isText(e.node) ||
      !isText(e.name) ||
      !isText(e.status) ||
      !isText(e.tags) ||
      !isText(e.lock) ||
      !isText(e.pool) ||
      !isText(e.storage) ||
      !isText(e.plugintype) ||
      !isFiniteNumber(e.uptime) ||
      !isFiniteNumber(e.cpu) ||
      !isFiniteNumber(e.maxcpu) ||
      !isFiniteNumber(e.mem) ||
      !isFiniteNumber(e.maxmem) ||
      !isFiniteNumber(e.disk) ||
      !isFiniteNumber(e.maxdisk) ||
      !isFiniteNumber(e.shared) ||
      (typeof e.template !== 'string' && !isFiniteNumber(e.template))
    )
      return false;
    const vmid = e.vmid;
    if (vmid !== undefined && typeof vmid !== 'number') return false;
    if (e.type !== 'qemu' && e.type !== 'lxc') continue;
    if (!e.node || vmid === undefined || !Number.isInteger(vmid) || vmid < VMID_RANGE.min || vmid > VMID_RANGE.max)
      return false;
    if (seen.has(vmid)) return false;
    seen.add(vmid);
    if (e.status !== undefined && !STATUSES.has(e.status)) return false;
  }
  return true;
}

/**
 * The whole `GET /cluster/resources` list, refused (not filtered) when an entry cannot be trusted
 * (see `checkedClusterResources`). A list that passes the hand-written checks is used as parsed;
 * any other goes through zod, so conversions and issues are zod's, path and message alike.
 */
export const clusterResourcesSchema = z.unknown().transform((data, ctx): ClusterResourceEntry[] => {
  if (isTrustedResourceList(data)) return data;
  const result = checkedClusterResources.safeParse(data);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  return z.NEVER;
});

/** `GET /cluster/nextid`: a free VMID (PVE sends it as a string). */
export const nextIdSchema = numeric;

/** One entry of `GET /nodes`. */
export const nodeEntrySchema = z.object({ node: z.string(), status: z.string().optional() }).loose();

/** One entry of `GET /nodes/{node}/qemu` or `…/lxc`. */
export const guestEntrySchema = z.object({ vmid: z.coerce.number() }).loose();

/** A config value PVE may send as a number or as its decimal string, depending on version and key. */
const numberOrText = z.union([z.number(), z.string()]);

/**
 * A guest's configuration (`…/qemu/{vmid}/config`, `…/lxc/{vmid}/config`): every key as PVE sends
 * it, with the keys the SDK reads typed (PVE's schema: `pve-qemu-server` `PVE::QemuServer` confdesc).
 */
export const guestConfigSchema = z
  .object({
    name: z.string().optional(),
    hostname: z.string().optional(),
    tags: z.string().optional(),
    description: z.string().optional(),
    lock: z.string().optional(),
    template: numberOrText.optional(),
    memory: numberOrText.optional(),
    cores: numberOrText.optional(),
    sockets: numberOrText.optional(),
    agent: numberOrText.optional(),
    ostype: z.string().optional(),
    boot: z.string().optional(),
    bootdisk: z.string().optional(),
    digest: z.string().optional(),
  })
  .catchall(z.unknown());

/** `GET /nodes/{node}/qemu/{vmid}/status/current`, as far as the SDK relies on it. */
export const qemuStatusSchema = z.object({ status: z.string() }).loose();

/** One entry of `GET /nodes/{node}/qemu/{vmid}/snapshot`. */
export const snapshotEntrySchema = z.object({ name: z.string() }).loose();

/** One entry of `GET /nodes/{node}/storage`. */
export const storageEntrySchema = z
  .object({ storage: z.string(), type: z.string().optional(), shared: z.number().optional() })
  .loose();

/** `GET /nodes/{node}/tasks/{upid}/status`. */
export const taskStatusSchema = z
  .object({
    status: z.enum(['running', 'stopped']),
    exitstatus: z.string().optional(),
    upid: z.string().optional(),
    type: z.string().optional(),
  })
  .loose();

/**
 * One entry of `GET /nodes/{node}/tasks`: `status` is `RUNNING` for a running task listed from the
 * active list, the exit status for a finished one (pve-manager `PVE/API2/Tasks.pm` `node_tasks`).
 */
export const taskListEntrySchema = z
  .object({ upid: z.string(), type: z.string(), status: z.string().optional(), endtime: z.number().optional() })
  .loose();

/** One line of `GET /nodes/{node}/tasks/{upid}/log`. */
export const taskLogLineSchema = z.object({ n: z.number(), t: z.string() }).loose();

/** `GET /access/permissions`: path → privilege → propagate flag. */
/** `GET /version`. */
export const versionSchema = z.object({ version: z.string(), release: z.string(), repoid: z.string() }).loose();

export const permissionsSchema = z.record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean()])));

/**
 * The guest agent's `get-users` answer (QEMU's `guest-get-users`): who is logged in, since when
 * (`login-time`, seconds since the epoch), and the domain on Windows.
 */
export const agentUsersSchema = z
  .object({
    result: z.union([
      z.array(z.object({ user: z.string(), 'login-time': z.number(), domain: z.string().optional() }).loose()),
      z.object({ error: z.object({ class: z.string().optional(), desc: z.string().optional() }).loose() }).loose(),
    ]),
  })
  .loose();

/** The guest agent's `network-get-interfaces` answer, as much of it as the SDK relies on. */
export const agentInterfacesSchema = z
  .object({
    result: z.union([
      z.array(
        z
          .object({
            name: z.string(),
            'ip-addresses': z
              .array(z.object({ 'ip-address': z.string(), 'ip-address-type': z.string() }).loose())
              .optional(),
          })
          .loose(),
      ),
      z.object({ error: z.object({ class: z.string().optional(), desc: z.string().optional() }).loose() }).loose(),
    ]),
  })
  .loose();

/**
 * `POST /nodes/{node}/qemu/{vmid}/vncproxy`: the proxy's port and ticket (for `vncwebsocket`), the
 * VNC password (PVE ≥ 8.0; older PVE takes the ticket as the password), the proxy task's UPID, the
 * user it runs as and the node's certificate. Ticket and password are credentials.
 */
export const vncProxySchema = z
  .object({
    port: z.coerce.number().int(),
    ticket: z.string().min(1),
    password: z.string().min(1).optional(),
    cert: z.string().optional(),
    upid: z.string(),
    user: z.string(),
  })
  .loose();

/** A task-starting call's answer: the task's UPID. */
export const upidSchema = z.string().min(1);

/** `null` answers (PUT config, PUT cloudinit). */
export const nullSchema = z.unknown().transform(() => null);

/** An entry of `GET /cluster/resources`. */
export type ClusterResourceEntry = z.output<typeof clusterResourceSchema>;
/** A guest entry of `GET /cluster/resources?type=vm`: node and VMID are always there. */
export type VmResource = ClusterResourceEntry & { node: string; vmid: number };
/** A guest's configuration. */
export type GuestConfig = z.output<typeof guestConfigSchema>;
/** A QEMU guest's current status. */
export type QemuStatus = z.output<typeof qemuStatusSchema>;
/** One entry of `GET /nodes`. */
export type NodeEntry = z.output<typeof nodeEntrySchema>;
/** One entry of a node's guest list. */
export type GuestEntry = z.output<typeof guestEntrySchema>;
/** One entry of a node's storage list. */
export type StorageEntry = z.output<typeof storageEntrySchema>;
/** A task's status. */
export type TaskStatus = z.output<typeof taskStatusSchema>;
/** One entry of a node's task list. */
export type TaskListEntry = z.output<typeof taskListEntrySchema>;
/** One task-log line. */
export type TaskLogLine = z.output<typeof taskLogLineSchema>;
/** The caller's privileges by ACL path. */
export type PermissionMap = z.output<typeof permissionsSchema>;
/** What `GET /version` answers. */
export type PveVersionInfo = z.output<typeof versionSchema>;
/** A VNC proxy PVE started for a guest (`vncproxy`). */
export type VncProxyTicket = z.output<typeof vncProxySchema>;
/** The users logged in to a guest, as its agent reports them. */
export type AgentUsers = z.output<typeof agentUsersSchema>;

/** The guest agent's network interfaces. */
export type AgentInterfaces = z.output<typeof agentInterfacesSchema>;

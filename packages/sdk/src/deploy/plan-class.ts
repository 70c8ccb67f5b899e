import { z } from 'zod';
import { pvePath } from '../client/pve-path.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Store } from '../store/store.js';
import { tagsOf } from '../templates/template-inventory.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { TemplateNotFoundError } from '../templates/template-errors.js';
import { baseVmName, InvalidDeploymentError, parseClassSpec, seatVmName, studentVmName, teacherVmName, type ClassSpec } from './class-spec.js';
import { explainPlacement, InsufficientCapacityError, placeVms, type NodeCapacity, type NodeExplanation } from './placement.js';

/** One VM of a class plan. */
export interface PlannedVm {
  name: string;
  role: 'teacher' | 'base' | 'student';
  action: 'create' | 'keep' | 'delete';
  personId: number | null;
  node: string;
  /** The existing VM's id (keep, delete), or null for one still to create. */
  vmid: number | null;
}

/** What `applyClass` would do: create, keep or delete, where, and why there. */
export interface ClassPlan {
  spec: ClassSpec;
  clusterId: string;
  templateName: string;
  /** The template VM the teacher VM and the base template are cloned from. */
  source: { node: string; vmid: number };
  /** Storage of the template's boot disk, and whether every node sees it. */
  storage: { id: string; shared: boolean };
  base: PlannedVm;
  /** Nodes the base template must be replicated to before students land there. */
  replicateBaseTo: string[];
  /** Nodes that already have a copy of the base template (its node and replicas). */
  baseNodes: string[];
  vms: PlannedVm[];
  placement: NodeExplanation[];
  counts: { create: number; keep: number; delete: number };
}

const resourcesSchema = z.array(
  z
    .object({
      type: z.string(),
      node: z.string().optional(),
      vmid: z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number).optional(),
      name: z.string().optional(),
      status: z.string().optional(),
      template: z.union([z.number(), z.string()]).optional(),
      tags: z.string().optional(),
      cpu: z.number().optional(),
      maxcpu: z.number().optional(),
      mem: z.number().optional(),
      maxmem: z.number().optional(),
      disk: z.number().optional(),
      maxdisk: z.number().optional(),
      storage: z.string().optional(),
      shared: z.number().optional(),
    })
    .loose(),
);
const configSchema = z.record(z.string(), z.unknown());

/** What planning needs. */
export interface PlanDeps {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
}

/**
 * Compares the desired class (spec + enrolled students from the store) with the live cluster
 * (one `/cluster/resources` call, VMs found by their `class-<id>` tag or name) and returns what to
 * create, keep or delete, with node placement. Wrong input fails here, before any clone.
 */
export async function planClass(deps: PlanDeps, input: unknown): Promise<ClassPlan> {
  const spec = parseClassSpec(input);
  const klass = await deps.store.classes.getClass(spec.classId);
  if (!klass) {
    const known = (await deps.store.classes.listClasses()).map((c) => c.id);
    throw new InvalidDeploymentError(`no class '${spec.classId}'; create it first${known.length ? ` (classes: ${known.join(', ')})` : ''}`, { classId: spec.classId });
  }
  let template;
  try {
    template = await deps.catalog.get(spec.template);
  } catch (error) {
    if (error instanceof TemplateNotFoundError) throw new InvalidDeploymentError(error.message, { template: spec.template });
    throw error;
  }
  if (!template.record.isActive) throw new InvalidDeploymentError(`template '${template.name}' is not active; activate it or pick another`, { template: template.name });
  const clusterId = spec.clusterId ?? template.mappings[0]!.clusterId;
  if (!deps.clusters.ids().includes(clusterId)) throw new InvalidDeploymentError(`no cluster '${clusterId}' is configured (clusters: ${deps.clusters.ids().join(', ')})`, { clusterId });
  const api = deps.clusters.get(clusterId);
  const resources = await api.get('/cluster/resources', undefined, { schema: resourcesSchema });
  const nodes = resources.filter((r) => r.type === 'node' && r.node);
  const guests = resources.filter((r) => (r.type === 'qemu' || r.type === 'lxc') && r.vmid !== undefined);
  const mappedNodes = template.mappings.filter((m) => m.clusterId === clusterId);
  if (mappedNodes.length === 0) throw new InvalidDeploymentError(`template '${template.name}' is on no node of cluster '${clusterId}'`, { template: template.name, clusterId });

  const memory = template.record.memory * 1024 * 1024;
  const onlineNodes = new Set(nodes.filter((n) => n.status === 'online').map((n) => n.node!));
  const vmCount = (node: string) => guests.filter((g) => g.node === node && Number(g.template) !== 1).length;
  const capacity = (hasSource: (node: string) => boolean, storageId?: string): NodeCapacity[] =>
    nodes.map((n) => {
      const storage = storageId ? resources.find((r) => r.type === 'storage' && r.node === n.node && r.storage === storageId) : undefined;
      return {
        node: n.node!, online: n.status === 'online', cpu: n.cpu ?? 0, maxcpu: n.maxcpu ?? 1, mem: n.mem ?? 0, maxmem: n.maxmem ?? 0,
        vmCount: vmCount(n.node!), hasSource: hasSource(n.node!),
        ...(storage?.maxdisk !== undefined ? { storageFree: storage.maxdisk - (storage.disk ?? 0) } : {}),
      };
    });

  // Existing class VMs, by tag or by the names this class uses.
  const tagged = guests.filter((g) => tagsOf(g).includes(`class-${spec.classId}`) || (g.name ?? '').startsWith(`${spec.classId}-`));
  const byName = new Map<string, (typeof guests)[number]>();
  for (const g of tagged.sort((a, b) => a.vmid! - b.vmid!)) if (g.name && !byName.has(g.name)) byName.set(g.name, g);

  // The template to clone from: on a healthy, online node, the best scored.
  const sourceChoices = explainPlacement(capacity((n) => mappedNodes.some((m) => m.node === n)), { vmMemory: memory, ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}) })
    .filter((n) => onlineNodes.has(n.node) && mappedNodes.some((m) => m.node === n.node));
  const existingBase = byName.get(baseVmName(spec.classId));
  const sourceNode = existingBase?.node && mappedNodes.some((m) => m.node === existingBase.node) ? existingBase.node : sourceChoices[0]?.node;
  if (!sourceNode) throw new InvalidDeploymentError(`template '${template.name}' is only on offline nodes (${mappedNodes.map((m) => m.node).join(', ')})`, { template: template.name });
  const source = { node: sourceNode, vmid: template.vmidOn(sourceNode, clusterId) };
  const sourceConfig = await api.get(pvePath`/nodes/${source.node}/qemu/${source.vmid}/config`, undefined, { schema: configSchema });
  const disk = findBootDisk(sourceConfig);
  if (!disk) throw new InvalidDeploymentError(`template '${template.name}' (${source.vmid} on ${source.node}) has no boot disk; recreate it or run the template health check`, { template: template.name });
  const shared = resources.some((r) => r.type === 'storage' && r.storage === disk.storage && r.shared === 1);

  const baseNode = existingBase?.node ?? source.node;
  const base: PlannedVm = { name: baseVmName(spec.classId), role: 'base', action: existingBase ? 'keep' : 'create', personId: null, node: baseNode, vmid: existingBase?.vmid ?? null };
  const baseRecord = await deps.catalog.get(baseVmName(spec.classId)).catch(() => undefined);
  const baseNodes = [...new Set([baseNode, ...(baseRecord?.nodes(clusterId) ?? [])])];

  // Desired students: enrolled ones by username, then unassigned seats.
  const members = (await deps.store.classes.members(spec.classId)).filter((m) => m.role === 'student');
  const people = (await Promise.all(members.map((m) => deps.store.classes.getPerson(m.personId)))).filter((p) => p !== undefined).sort((a, b) => a.username.localeCompare(b.username));
  const desired: Array<{ name: string; personId: number | null }> = people.slice(0, spec.count).map((p) => ({ name: studentVmName(spec.classId, p.username), personId: p.id }));
  for (let seat = 1; desired.length < spec.count; seat++) desired.push({ name: seatVmName(spec.classId, seat), personId: null });
  const desiredNames = new Set(desired.map((d) => d.name));

  const vms: PlannedVm[] = [];
  const teacher = byName.get(teacherVmName(spec.classId));
  vms.push({ name: teacherVmName(spec.classId), role: 'teacher', action: teacher ? 'keep' : 'create', personId: klass.ownerId, node: teacher?.node ?? source.node, vmid: teacher?.vmid ?? null });
  const toCreate = desired.filter((d) => !byName.has(d.name));
  for (const d of desired) {
    const existing = byName.get(d.name);
    if (existing) vms.push({ name: d.name, role: 'student', action: 'keep', personId: d.personId, node: existing.node!, vmid: existing.vmid! });
  }
  for (const g of tagged) {
    const isStudent = tagsOf(g).includes('role-student') || (g.name !== undefined && !g.name.endsWith('-teacher') && !g.name.endsWith('-base'));
    if (isStudent && g.name && !desiredNames.has(g.name) && Number(g.template) !== 1) vms.push({ name: g.name, role: 'student', action: 'delete', personId: null, node: g.node!, vmid: g.vmid! });
  }

  // Placement of new students: where the base is; where it could be replicated if that is not enough.
  const placementOptions = { vmMemory: memory, vmDisk: 64 * 1024 * 1024, ...(spec.strategy ? { strategy: spec.strategy } : {}), ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}) };
  const storageNodes = new Set(resources.filter((r) => r.type === 'storage' && r.storage === disk.storage).map((r) => r.node!));
  const hasBase = (node: string) => (shared ? storageNodes.has(node) : baseNodes.includes(node));
  let candidates = capacity(hasBase, disk.storage);
  let placed: string[];
  try {
    placed = placeVms(toCreate.length, candidates, placementOptions);
  } catch (error) {
    if (!(error instanceof InsufficientCapacityError) || shared) throw error;
    candidates = capacity((node) => storageNodes.has(node), disk.storage);
    placed = placeVms(toCreate.length, candidates, placementOptions);
  }
  toCreate.forEach((d, i) => vms.push({ name: d.name, role: 'student', action: 'create', personId: d.personId, node: placed[i]!, vmid: null }));
  const replicateBaseTo = shared ? [] : [...new Set(placed)].filter((n) => !baseNodes.includes(n)).sort();

  const all = [base, ...vms];
  return {
    spec,
    clusterId,
    templateName: template.name,
    source,
    storage: { id: disk.storage, shared },
    base,
    replicateBaseTo,
    baseNodes,
    vms,
    placement: explainPlacement(candidates, placementOptions),
    counts: { create: all.filter((v) => v.action === 'create').length, keep: all.filter((v) => v.action === 'keep').length, delete: all.filter((v) => v.action === 'delete').length },
  };
}

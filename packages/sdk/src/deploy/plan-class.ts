import { findBootDisk, volumeStorages } from '../cloning/boot-disk.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Store } from '../store/store.js';
import type { PveApi } from '../ports/pve-api.js';
import type { VmRole } from '../store/records.js';
import { completeFreshResources, tagsOf } from '../templates/template-inventory.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { TemplateNotFoundError } from '../templates/template-errors.js';
import { InvalidDeploymentError, parseClassSpec, type ClassSpec } from './class-spec.js';
import { baseVmName, seatVmName, studentVmName, teacherVmName } from '../templates/class-vm-names.js';
import { ownedByClass, roleTag } from './class-ownership.js';
import { baseVersionOf } from './base-versions.js';
import {
  explainPlacement,
  InsufficientCapacityError,
  placeVms,
  type NodeCapacity,
  type NodeExplanation,
} from './placement.js';
import { VmNamer, type NamedGuest } from './vm-namer.js';
import { pveResources } from '../pve/pve-resources.js';
import type { ClusterResourceEntry } from '../pve/pve-schemas.js';

/** One VM of a class plan. */
export interface PlannedVm {
  name: string;
  role: 'teacher' | 'base' | 'student';
  action: 'create' | 'keep' | 'delete';
  personId: number | null;
  /** Username of the person the VM is (or will be) assigned to. */
  owner: string | null;
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
  /** Where each copy of the base template is (node → VMID), for the students cloned from it. */
  baseCopies: Record<string, number>;
  vms: PlannedVm[];
  /** Enrolled students who get no VM because the class has fewer seats than students. */
  unseated: string[];
  /** Choices a teacher should see, such as a VM name changed because two usernames map to one. */
  notes: string[];
  placement: NodeExplanation[];
  counts: { create: number; keep: number; delete: number };
}

type Guest = ClusterResourceEntry;

/** Locale-independent order, so a plan is the same on every machine. */
const codeOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** VMIDs recorded by the class's unfinished deployments: ours even before they are tagged. */
async function vmidsOfUnfinishedDeployments(store: Store, classId: string): Promise<Set<number>> {
  const vmids = new Set<number>();
  for (const d of (await store.deployments.unfinished()).filter((x) => x.classId === classId)) {
    for (const item of await store.deployments.items(d.id)) if (item.vmid !== null) vmids.add(item.vmid);
  }
  return vmids;
}

/** Whether any of `guests` has a disk that is a linked clone of template `vmid` (`…base-<vmid>-disk-N/…`). */
async function usedByLinkedClone(api: PveApi, vmid: number, guests: readonly NamedGuest[]): Promise<boolean> {
  for (const g of guests) {
    if (g.vmid === undefined || !g.node) continue;
    const config = await pveResources(api)
      .qemu(g.node, g.vmid)
      .config()
      .catch(() => undefined);
    if (Object.values(config ?? {}).some((v) => typeof v === 'string' && v.includes(`base-${vmid}-disk-`))) return true;
  }
  return false;
}

/** The description of a guest (to find our creation marker on a VM not tagged yet). */
async function readGuestDescription(api: PveApi, guest: NamedGuest): Promise<unknown> {
  if (guest.vmid === undefined || !guest.node) return undefined;
  const config = await pveResources(api)
    .qemu(guest.node, guest.vmid)
    .config()
    .catch(() => undefined);
  return config?.description;
}

/** What planning needs. */
export interface PlanDeps {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
}

/**
 * Compares the desired class (spec + enrolled students from the store) with the live cluster
 * (one `cluster.resources()` call) and returns what to create, keep or delete, with node placement.
 * A VM is the class's only when its tags, its creation marker or the store say so — never by its
 * name; a VM of someone else with a name the class needs stops planning (`VmNameConflictError`).
 * Wrong input fails here, before any clone.
 */
export async function planClass(deps: PlanDeps, input: unknown): Promise<ClassPlan> {
  const spec = parseClassSpec(input);
  const klass = await deps.store.classes.getClass(spec.classId);
  if (!klass) {
    const known = (await deps.store.classes.listClasses()).map((c) => c.id);
    throw new InvalidDeploymentError(
      `no class '${spec.classId}'; create it first${known.length ? ` (classes: ${known.join(', ')})` : ''}`,
      { classId: spec.classId },
    );
  }
  let template;
  try {
    template = await deps.catalog.get(spec.template);
  } catch (error) {
    if (error instanceof TemplateNotFoundError)
      throw new InvalidDeploymentError(error.message, { template: spec.template });
    throw error;
  }
  if (!template.record.isActive)
    throw new InvalidDeploymentError(`template '${template.name}' is not active; activate it or pick another`, {
      template: template.name,
    });
  const clusterId = spec.clusterId ?? template.mappings[0]!.clusterId;
  if (!deps.clusters.ids().includes(clusterId))
    throw new InvalidDeploymentError(
      `no cluster '${clusterId}' is configured (clusters: ${deps.clusters.ids().join(', ')})`,
      { clusterId },
    );
  const api = deps.clusters.get(clusterId);
  // VMs created in the last ~10 s have no name or template flag in the cluster's resources yet: read their config.
  const resources = await completeFreshResources(api, await pveResources(api).cluster.resources());
  const nodes = resources.filter((r) => r.type === 'node' && r.node);
  const guests = resources.filter((r) => (r.type === 'qemu' || r.type === 'lxc') && r.vmid !== undefined);
  const mappedNodes = template.mappings.filter((m) => m.clusterId === clusterId);
  if (mappedNodes.length === 0)
    throw new InvalidDeploymentError(`template '${template.name}' is on no node of cluster '${clusterId}'`, {
      template: template.name,
      clusterId,
    });

  const memory = template.record.memory * 1024 * 1024;
  const onlineNodes = new Set(nodes.filter((n) => n.status === 'online').map((n) => n.node!));
  const vmCount = (node: string) => guests.filter((g) => g.node === node && Number(g.template) !== 1).length;
  const capacity = (hasSource: (node: string) => boolean, storageId?: string): NodeCapacity[] =>
    nodes.map((n) => {
      const storage = storageId
        ? resources.find((r) => r.type === 'storage' && r.node === n.node && r.storage === storageId)
        : undefined;
      return {
        node: n.node!,
        online: n.status === 'online',
        cpu: n.cpu ?? 0,
        maxcpu: n.maxcpu ?? 1,
        mem: n.mem ?? 0,
        maxmem: n.maxmem ?? 0,
        vmCount: vmCount(n.node!),
        hasSource: hasSource(n.node!),
        ...(storage?.maxdisk !== undefined ? { storageFree: storage.maxdisk - (storage.disk ?? 0) } : {}),
      };
    });

  // The class's VMs: ours by tag, creation marker or store assignment — never by name.
  const assignments = new Map(
    (await deps.store.classes.assignmentsOfClass(spec.classId))
      .filter((a) => a.clusterId === clusterId)
      .map((a) => [a.vmid, a]),
  );
  const inFlight = await vmidsOfUnfinishedDeployments(deps.store, spec.classId);
  const owned = guests
    .filter(
      (g) =>
        g.type === 'qemu' &&
        (ownedByClass({ vmid: g.vmid!, tags: g.tags }, spec.classId, assignments) || inFlight.has(g.vmid!)),
    )
    .sort((a, b) => a.vmid! - b.vmid!);
  const roleOf = (g: Guest): VmRole =>
    roleTag(g) ?? assignments.get(g.vmid!)?.role ?? (Number(g.template) === 1 ? 'base' : 'student');
  // Newest published version first (`cs101-base-v2` before `cs101-base`): new students get it.
  const versionOf = (g: Guest): number => baseVersionOf(spec.classId, g.name ?? '') ?? 0;
  const bases = owned
    .filter((g) => roleOf(g) === 'base' && Number(g.template) === 1)
    .sort((a, b) => versionOf(b) - versionOf(a) || a.vmid! - b.vmid!);
  const unowned = guests.filter((g) => !owned.includes(g));

  // The template to clone from: on a healthy, online node, the best scored.
  const sourceChoices = explainPlacement(
    capacity((n) => mappedNodes.some((m) => m.node === n)),
    { vmMemory: memory, ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}) },
  ).filter((n) => onlineNodes.has(n.node) && mappedNodes.some((m) => m.node === n.node));
  const existingBase =
    bases.find((g) => !tagsOf(g).includes('replica') && mappedNodes.some((m) => m.node === g.node)) ?? bases[0];
  const sourceNode =
    existingBase?.node && mappedNodes.some((m) => m.node === existingBase.node)
      ? existingBase.node
      : sourceChoices[0]?.node;
  if (!sourceNode)
    throw new InvalidDeploymentError(
      `template '${template.name}' is only on offline nodes (${mappedNodes.map((m) => m.node).join(', ')})`,
      { template: template.name },
    );
  const source = { node: sourceNode, vmid: template.vmidOn(sourceNode, clusterId) };
  const sourceConfig = await pveResources(api).qemu(source.node, source.vmid).config();
  const disk = findBootDisk(sourceConfig);
  if (!disk)
    throw new InvalidDeploymentError(
      `template '${template.name}' (${source.vmid} on ${source.node}) has no boot disk; recreate it or run the template health check`,
      { template: template.name },
    );
  // Clones go to other nodes only when every volume (cloud-init and CD-ROM images too) is shared;
  // otherwise PVE refuses ("VM uses local storage") and the base is copied to each node instead.
  const sharedStorage = (id: string) =>
    resources.some((r) => r.type === 'storage' && r.storage === id && r.shared === 1);
  const shared = [disk.storage, ...volumeStorages(sourceConfig)].every(sharedStorage);

  const baseNode = existingBase?.node ?? source.node;
  const people = new Map((await deps.store.classes.listPeople()).map((p) => [p.id, p]));
  const usernameOf = (personId: number | null | undefined): string | null =>
    personId ? (people.get(personId)?.username ?? null) : null;
  const names = new VmNamer(spec.classId, owned, unowned, (g) => readGuestDescription(api, g));
  const base: PlannedVm = {
    name: existingBase?.name ?? baseVmName(spec.classId),
    role: 'base',
    action: existingBase ? 'keep' : 'create',
    personId: null,
    owner: null,
    node: baseNode,
    vmid: existingBase?.vmid ?? null,
  };
  if (!existingBase) await names.claim(base.name);
  const baseCopies: Record<string, number> = {};
  for (const b of bases) baseCopies[b.node!] ??= b.vmid!;
  const baseNodes = [...new Set([baseNode, ...Object.keys(baseCopies)])];

  const vms: PlannedVm[] = [];
  const [teacher, ...extraTeachers] = owned.filter((g) => roleOf(g) === 'teacher');
  const teacherOwner = usernameOf(klass.ownerId);
  if (teacher)
    vms.push({
      name: teacher.name ?? teacherVmName(spec.classId),
      role: 'teacher',
      action: 'keep',
      personId: assignments.get(teacher.vmid!)?.personId ?? klass.ownerId,
      owner: teacherOwner,
      node: teacher.node!,
      vmid: teacher.vmid!,
    });
  else
    vms.push({
      name: await names.claim(teacherVmName(spec.classId)),
      role: 'teacher',
      action: 'create',
      personId: klass.ownerId,
      owner: teacherOwner,
      node: source.node,
      vmid: null,
    });
  for (const t of extraTeachers)
    vms.push({
      name: t.name ?? `VM ${t.vmid}`,
      role: 'teacher',
      action: 'delete',
      personId: assignments.get(t.vmid!)?.personId ?? null,
      owner: usernameOf(assignments.get(t.vmid!)?.personId),
      node: t.node!,
      vmid: t.vmid!,
    });

  // Seats: students who have a VM keep it; the other seats go to enrolled students by username;
  // seats beyond the roster are unassigned (`<class>-seat-NN`).
  const members = (await deps.store.classes.members(spec.classId)).filter((m) => m.role === 'student');
  const roster = members
    .map((m) => people.get(m.personId))
    .filter((p) => p !== undefined)
    .sort((a, b) => codeOrder(a.username, b.username));
  // A second base template of one name on one node (left by an old double run) is deleted when no
  // linked clone uses its disks; one that is in use stays and is reported as a duplicate.
  const seenBases = new Set<string>();
  for (const b of [...bases].sort((x, y) => x.vmid! - y.vmid!)) {
    const key = `${b.name}@${b.node}`;
    if (!seenBases.has(key)) {
      seenBases.add(key);
      continue;
    }
    const clonesOnNode = owned.filter((g) => g.node === b.node && Number(g.template) !== 1);
    if (!(await usedByLinkedClone(api, b.vmid!, clonesOnNode)))
      vms.push({
        name: b.name ?? baseVmName(spec.classId),
        role: 'base',
        action: 'delete',
        personId: null,
        owner: null,
        node: b.node!,
        vmid: b.vmid!,
      });
  }
  const studentVms = owned.filter((g) => roleOf(g) === 'student' && Number(g.template) !== 1);
  const vmOf = new Map<number, Guest>();
  for (const g of studentVms) {
    const personId = assignments.get(g.vmid!)?.personId;
    if (personId && !vmOf.has(personId)) vmOf.set(personId, g);
  }
  for (const g of studentVms) {
    if (assignments.get(g.vmid!)?.personId) continue;
    const person = roster.find((p) => !vmOf.has(p.id) && g.name === studentVmName(spec.classId, p.username));
    if (person) vmOf.set(person.id, g);
  }
  const seated = [...roster.filter((p) => vmOf.has(p.id)), ...roster.filter((p) => !vmOf.has(p.id))]
    .slice(0, spec.count)
    .sort((a, b) => codeOrder(a.username, b.username));
  const seatedIds = new Set(seated.map((p) => p.id));
  const unseated = roster.filter((p) => !seatedIds.has(p.id)).map((p) => p.username);
  const kept = new Set<Guest>();
  for (const p of seated) {
    const g = vmOf.get(p.id);
    if (!g) continue;
    kept.add(g);
    vms.push({
      name: g.name ?? studentVmName(spec.classId, p.username),
      role: 'student',
      action: 'keep',
      personId: p.id,
      owner: p.username,
      node: g.node!,
      vmid: g.vmid!,
    });
  }
  const freeSeats = spec.count - seated.length;
  const seatVms = studentVms
    .filter((g) => !kept.has(g) && !assignments.get(g.vmid!)?.personId && ![...vmOf.values()].includes(g))
    .sort((a, b) => codeOrder(a.name ?? '', b.name ?? '') || a.vmid! - b.vmid!);
  for (const g of seatVms.slice(0, Math.max(0, freeSeats))) {
    kept.add(g);
    vms.push({
      name: g.name ?? seatVmName(spec.classId, vms.length),
      role: 'student',
      action: 'keep',
      personId: null,
      owner: null,
      node: g.node!,
      vmid: g.vmid!,
    });
  }
  // Deletes are listed by name (then VMID), so a confirmation reads the same however clones raced.
  const studentDeletes = studentVms
    .filter((x) => !kept.has(x))
    .sort((a, b) => codeOrder(a.name ?? '', b.name ?? '') || a.vmid! - b.vmid!);
  for (const g of studentDeletes) {
    const personId = assignments.get(g.vmid!)?.personId ?? null;
    vms.push({
      name: g.name ?? `VM ${g.vmid}`,
      role: 'student',
      action: 'delete',
      personId,
      owner: usernameOf(personId),
      node: g.node!,
      vmid: g.vmid!,
    });
  }
  const toCreate: Array<{ name: string; personId: number | null; owner: string | null }> = [];
  for (const p of seated.filter((x) => !vmOf.has(x.id)))
    toCreate.push({
      name: await names.claim(studentVmName(spec.classId, p.username), p.username),
      personId: p.id,
      owner: p.username,
    });
  for (
    let seat = 1, open = Math.max(0, freeSeats - Math.min(seatVms.length, Math.max(0, freeSeats)));
    open > 0;
    seat++
  ) {
    const name = seatVmName(spec.classId, seat);
    if (names.isTaken(name)) continue;
    toCreate.push({ name: await names.claim(name), personId: null, owner: null });
    open--;
  }

  // Placement of new students: where the base is; where it could be replicated if that is not enough.
  const placementOptions = {
    vmMemory: memory,
    vmDisk: 64 * 1024 * 1024,
    ...(spec.strategy ? { strategy: spec.strategy } : {}),
    ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}),
  };
  const storageNodes = new Set(
    resources.filter((r) => r.type === 'storage' && r.storage === disk.storage).map((r) => r.node!),
  );
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
  toCreate.forEach((d, i) =>
    vms.push({
      name: d.name,
      role: 'student',
      action: 'create',
      personId: d.personId,
      owner: d.owner,
      node: placed[i]!,
      vmid: null,
    }),
  );
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
    baseCopies,
    vms,
    unseated,
    notes: names.notes,
    placement: explainPlacement(candidates, placementOptions),
    counts: {
      create: all.filter((v) => v.action === 'create').length,
      keep: all.filter((v) => v.action === 'keep').length,
      delete: all.filter((v) => v.action === 'delete').length,
    },
  };
}

import type { ClusterApis } from '../ports/cluster-apis.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { SourceFacts } from '../cloning/clone-vm.js';
import type { Store } from '../store/store.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { parseClassSpec, type ClassSpec } from './class-spec.js';
import { baseVmName } from '../templates/class-vm-names.js';
import { findClassGuests } from './plan-class-guests.js';
import { readClusterView } from './plan-cluster-view.js';
import { planDuplicateBaseDeletes, planStudentSeats, planTeacherVms, type SeatContext } from './plan-seats.js';
import { chooseSource } from './plan-source.js';
import { placeNewStudents } from './plan-student-placement.js';
import { placeWithSiblings } from './plan-lab-role.js';
import { checkPinnedNodes } from './class-pin.js';
import { resolvePlanTarget } from './plan-target.js';
import type { NodeExplanation } from './placement.js';
import { VmNamer, type NamedGuest } from './vm-namer.js';

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
  /** Storage of the template's boot disk, whether every node sees it, and its type (`lvmthin`, …) when known. */
  storage: { id: string; shared: boolean; type?: string | undefined };
  base: PlannedVm;
  /** Nodes the base template must be replicated to before students land there. */
  replicateBaseTo: string[];
  /**
   * Nodes the class may use: online, with the template's storage and room for one of its VMs, within
   * the admin's pin. When every student VM runs, no node carries more than 1.25× an even split over them.
   */
  classNodes: string[];
  /** The nodes an admin pinned the class to (`class pin`), or null. */
  pinnedNodes: string[] | null;
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
  /** VMs the plan makes (the base's copies included), keeps and deletes. */
  counts: { create: number; keep: number; delete: number };
}

/** What planning needs. */
export interface PlanDeps {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
}

/** A class plan with what planning read from PVE, for the preflight and the clones to reuse. */
export interface ReadClassPlan {
  plan: ClassPlan;
  /** What planning read of `plan.source`: its config and its boot disk's storage type. */
  sourceFacts: SourceFacts;
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

/**
 * Compares the desired class (spec + enrolled students from the store) with the live cluster
 * (one `cluster.resources()` call) and returns what to create, keep or delete, with node placement.
 * A VM is the class's only when its tags, its creation marker or the store say so — never by its
 * name; a VM of someone else with a name the class needs stops planning (`VmNameConflictError`).
 * Wrong input fails here, before any clone.
 */
export async function planClass(deps: PlanDeps, input: unknown): Promise<ClassPlan> {
  return (await readClassPlan(deps, input)).plan;
}

/** {@link planClass}, also returning what it read of the source template. */
export async function readClassPlan(deps: PlanDeps, input: unknown): Promise<ReadClassPlan> {
  const asked = parseClassSpec(input);
  const target = await resolvePlanTarget(deps, asked);
  const spec: ClassSpec = { ...asked, template: target.template.name };
  const { api, clusterId, klass, template } = target;
  const view = await readClusterView(api);
  const guests = await findClassGuests(deps.store, spec.classId, clusterId, view.guests, spec.labRole?.name);
  const pinnedNodes = klass.pinnedNodes?.length ? klass.pinnedNodes : null;
  const { source, sourceFacts, storage, existingBase } = await chooseSource(target, spec, view, guests, pinnedNodes);

  const baseNode = existingBase?.node ?? source.node;
  const ctx: SeatContext = {
    spec,
    store: deps.store,
    api,
    guests,
    names: new VmNamer(spec.classId, guests.owned, guests.unowned, (g) => readGuestDescription(api, g)),
    people: new Map((await deps.store.classes.listPeople()).map((p) => [p.id, p])),
  };
  const base: PlannedVm = {
    name: existingBase?.name ?? baseVmName(spec.classId, spec.labRole?.name),
    role: 'base',
    action: existingBase ? 'keep' : 'create',
    personId: null,
    owner: null,
    node: baseNode,
    vmid: existingBase?.vmid ?? null,
  };
  if (!existingBase) await ctx.names.claim(base.name);
  const baseCopies: Record<string, number> = {};
  for (const b of guests.bases) baseCopies[b.node!] ??= b.vmid!;
  const baseNodes = [...new Set([baseNode, ...Object.keys(baseCopies)])];

  const vms: PlannedVm[] = [...(await planTeacherVms(ctx, klass, source.node))];
  vms.push(...(await planDuplicateBaseDeletes(ctx)));
  const seats = await planStudentSeats(ctx, vms.length);
  vms.push(...seats.kept, ...seats.deleted);
  if (pinnedNodes) checkPinnedNodes(view, spec.classId, pinnedNodes, storage, template.name);
  const place = (count: number) =>
    placeNewStudents(
      view,
      spec,
      count,
      (spec.labRole?.memory ?? template.record.memory) * 1024 * 1024,
      storage,
      baseNodes,
      { keptNodes: seats.kept.map((v) => v.node), pinnedNodes },
    );
  // A lab role's new VMs go where the student's other VMs of the class are: the set stays together.
  const placed = spec.labRole
    ? placeWithSiblings(view, guests, seats.toCreate, place, storage, baseNodes)
    : place(seats.toCreate.length);
  seats.toCreate.forEach((d, i) =>
    vms.push({ ...d, role: 'student', action: 'create', node: placed.nodes[i]!, vmid: null }),
  );

  const all = [base, ...vms];
  const plan: ClassPlan = {
    spec,
    clusterId,
    templateName: template.name,
    source,
    storage: { ...storage, type: sourceFacts.bootStorageType },
    base,
    replicateBaseTo: placed.replicateBaseTo,
    classNodes: placed.classNodes,
    pinnedNodes,
    baseNodes,
    baseCopies,
    vms,
    unseated: seats.unseated,
    notes: [...ctx.names.notes, ...placed.notes],
    placement: placed.placement,
    counts: {
      // The base's copies to the nodes the class spreads over are made and registered too.
      create: all.filter((v) => v.action === 'create').length + placed.replicateBaseTo.length,
      keep: all.filter((v) => v.action === 'keep').length,
      delete: all.filter((v) => v.action === 'delete').length,
    },
  };
  return { plan, sourceFacts };
}

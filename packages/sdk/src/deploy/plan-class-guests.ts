import type { ClusterResourceEntry } from '../pve/pve-schemas.js';
import type { VmAssignmentRecord, VmRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { baseVersionOf } from './base-versions.js';
import { ownedByClass, roleTag } from './class-ownership.js';
import { labRoleOfTags, labRolePrefix } from '../templates/class-vm-names.js';

/** The class's VMs on the cluster and the others, as planning sorts them. */
export interface ClassGuests {
  /** The store's assignments of the class on this cluster, by VMID. */
  assignments: Map<number, VmAssignmentRecord>;
  /** The class's guests (by tag, creation marker or store), by VMID. */
  owned: ClusterResourceEntry[];
  unowned: ClusterResourceEntry[];
  /** The class's base templates, newest published version first. */
  bases: ClusterResourceEntry[];
  roleOf(guest: ClusterResourceEntry): VmRole;
}

/** The lab role a deployment's spec was for (a class deploy, reset or publish), if any. */
function labRoleOfSpec(spec: unknown): string | undefined {
  const s = spec as { labRole?: unknown; spec?: { labRole?: { name?: unknown } } } | null;
  if (typeof s?.labRole === 'string') return s.labRole;
  const name = s?.spec?.labRole?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Whether a guest plays `labRole` (by its tag; an untagged one of the role's unfinished run too); none = untagged. */
function inLabRole(g: ClusterResourceEntry, labRole: string | undefined, inFlight: Set<number>): boolean {
  const tagged = labRoleOfTags(g.tags);
  if (tagged !== undefined) return tagged === labRole;
  return labRole === undefined || inFlight.has(g.vmid!);
}

/** VMIDs recorded by the class's (role's) unfinished deployments: ours even before they are tagged. */
async function vmidsOfUnfinishedDeployments(store: Store, classId: string, labRole?: string): Promise<Set<number>> {
  const vmids = new Set<number>();
  for (const d of (await store.deployments.unfinished()).filter(
    (x) => x.classId === classId && labRoleOfSpec(x.spec) === labRole,
  )) {
    for (const item of await store.deployments.items(d.id)) if (item.vmid !== null) vmids.add(item.vmid);
  }
  return vmids;
}

/** Sorts `guests` into the class's (by tag, creation marker or store assignment — never by name) and the others. */
export async function findClassGuests(
  store: Store,
  classId: string,
  clusterId: string,
  guests: readonly ClusterResourceEntry[],
  labRole?: string,
): Promise<ClassGuests> {
  const assignments = new Map(
    (await store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId).map((a) => [a.vmid, a]),
  );
  const inFlight = await vmidsOfUnfinishedDeployments(store, classId, labRole);
  const owned = guests
    .filter(
      (g) =>
        g.type === 'qemu' &&
        (ownedByClass({ vmid: g.vmid!, tags: g.tags }, classId, assignments) || inFlight.has(g.vmid!)) &&
        // A class with several VMs per student plans each role apart: only the role's own VMs (by tag) are its.
        inLabRole(g, labRole, inFlight),
    )
    .sort((a, b) => a.vmid! - b.vmid!);
  const roleOf = (g: ClusterResourceEntry): VmRole =>
    roleTag(g) ?? assignments.get(g.vmid!)?.role ?? (Number(g.template) === 1 ? 'base' : 'student');
  // Newest published version first (`cs101-base-v2` before `cs101-base`): new students get it.
  const versionOf = (g: ClusterResourceEntry): number =>
    baseVersionOf(labRolePrefix(classId, labRole), g.name ?? '') ?? 0;
  const bases = owned
    .filter((g) => roleOf(g) === 'base' && Number(g.template) === 1)
    .sort((a, b) => versionOf(b) - versionOf(a) || a.vmid! - b.vmid!);
  return { assignments, owned, unowned: guests.filter((g) => !owned.includes(g)), bases, roleOf };
}

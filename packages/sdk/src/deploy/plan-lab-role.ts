import type { ClusterView } from './plan-cluster-view.js';
import type { ClassGuests } from './plan-class-guests.js';
import type { NewStudentVm } from './plan-seats.js';
import { nodesNeedingBase, type StudentPlacement } from './plan-student-placement.js';

/**
 * Keeps a student's set of VMs together: each new VM of a lab role whose student already has a VM
 * of the class (another role's) on an online node goes to that node, and on local storage the
 * role's base is copied there first (a linked clone must sit beside its base). Only the others
 * (students without a VM yet, unassigned seats) are placed by `place`, as without roles.
 */
export function placeWithSiblings(
  view: ClusterView,
  guests: ClassGuests,
  toCreate: readonly NewStudentVm[],
  place: (count: number) => StudentPlacement,
  storage: { shared: boolean },
  baseNodes: readonly string[],
): StudentPlacement {
  const nodeOf = new Map<number, string>();
  for (const g of [...view.guests].sort((a, b) => a.vmid! - b.vmid!)) {
    const a = guests.assignments.get(g.vmid!);
    if (a?.role !== 'student' || a.personId === null || Number(g.template) === 1 || !g.node) continue;
    if (view.onlineNodes.has(g.node) && !nodeOf.has(a.personId)) nodeOf.set(a.personId, g.node);
  }
  const pinned = toCreate.map((vm) => (vm.personId === null ? undefined : nodeOf.get(vm.personId)));
  const rest = place(pinned.filter((n) => n === undefined).length);
  let next = 0;
  const nodes = pinned.map((n) => n ?? rest.nodes[next++]!);
  return { ...rest, nodes, replicateBaseTo: nodesNeedingBase(nodes, storage, baseNodes) };
}

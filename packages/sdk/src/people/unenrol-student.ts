import type { EpochMs, VmAssignmentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** A VM an unenrolled student no longer owns: it stays in the class as a free seat. */
export interface FreedSeat {
  clusterId: string;
  vmid: number;
  /** The VM's name in the inventory, or `VM <vmid>` when the inventory does not know it. */
  name: string;
}

/**
 * Takes a student out of a class, the one rule every front end and the directory sync share: the
 * membership goes, and the student's VMs of the class lose their owner (no start, connect or
 * console) but stay as free seats until the next deploy. Nothing is deleted. Run it inside the
 * caller's transaction; `assignments` may carry the class's assignments already read once.
 * Returns the seats freed (none when the person was not a member).
 */
export async function unenrolStudent(
  tx: Store,
  request: { classId: string; personId: number; at: EpochMs; assignments?: readonly VmAssignmentRecord[] },
): Promise<{ removed: boolean; freed: FreedSeat[] }> {
  const removed = await tx.classes.removeMember(request.classId, request.personId);
  const assignments = request.assignments ?? (await tx.classes.assignmentsOfClass(request.classId));
  const freed: FreedSeat[] = [];
  for (const a of assignments.filter((x) => x.personId === request.personId && x.classId === request.classId)) {
    await tx.classes.assignVm({ ...a, personId: null }, request.at);
    const vm = await tx.inventory.get(a.clusterId, a.vmid);
    freed.push({ clusterId: a.clusterId, vmid: a.vmid, name: vm?.name ?? `VM ${a.vmid}` });
  }
  return { removed, freed };
}

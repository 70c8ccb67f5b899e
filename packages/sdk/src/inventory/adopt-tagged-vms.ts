import { studentVmName } from '../templates/class-vm-names.js';
import type { VmInventoryRecord, VmRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { tagsOf } from '../templates/template-inventory.js';

const ROLES: readonly VmRole[] = ['student', 'teacher', 'base'];

/**
 * Registers VMs that carry Proxmox Lab's tags (`lab;class-<id>;role-<role>`) but no assignment —
 * made by Terraform from an exported workspace, say — as the class's: a student VM goes to the
 * enrolled student whose VM name it has, the teacher VM to the class's owner. A VM whose class does
 * not exist, whose name matches no student, or that is not named yet is left for a later sync.
 * Returns how many were registered. In steady state (every tagged VM assigned) it costs one store
 * read per cluster: only a class with a tagged VM not yet assigned is looked at further.
 */
export async function adoptTaggedVms(
  store: Store,
  clusterId: string,
  rows: readonly VmInventoryRecord[],
  now: number,
): Promise<number> {
  const byClass = new Map<string, Array<{ row: VmInventoryRecord; role: VmRole }>>();
  for (const row of rows) {
    // Most VMs carry no `lab` tag: skip them before splitting their tags.
    if (!row.tags.toLowerCase().includes('lab')) continue;
    const tags = tagsOf(row);
    const classId = tags.find((t) => t.startsWith('class-'))?.slice('class-'.length);
    const role = ROLES.find((r) => tags.includes(`role-${r}`));
    if (!tags.includes('lab') || !classId || !role || !row.name) continue;
    byClass.set(classId, [...(byClass.get(classId) ?? []), { row, role }]);
  }
  if (byClass.size === 0) return 0;
  // The cluster's VMs assigned within the tagged classes, in one read (a VM assigned elsewhere is
  // skipped below by its own assignment).
  const inTaggedClasses = await store.inventory.list({
    clusterId,
    classIds: [...byClass.keys()],
    includeTemplates: true,
    includeGone: true,
  });
  const assignedHere = new Set(inTaggedClasses.map((r) => r.vmid));
  let adopted = 0;
  for (const [classId, candidates] of byClass) {
    if (candidates.every((c) => assignedHere.has(c.row.vmid))) continue;
    const klass = await store.classes.getClass(classId);
    if (!klass) continue;
    const assignments = (await store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId);
    const assigned = new Set(assignments.map((a) => a.vmid));
    const fresh = candidates.filter((c) => !assigned.has(c.row.vmid));
    if (fresh.length === 0) continue;
    const students = (await store.classes.members(classId)).filter((m) => m.role === 'student');
    const nameOf = new Map<string, number>();
    for (const m of students) {
      const person = await store.classes.getPerson(m.personId);
      if (person) nameOf.set(studentVmName(classId, person.username), person.id);
    }
    for (const { row, role } of fresh) {
      if (await store.classes.assignment(clusterId, row.vmid)) continue;
      const personId = role === 'teacher' ? klass.ownerId : role === 'student' ? (nameOf.get(row.name) ?? null) : null;
      if (role === 'student' && personId === null && !/-seat-\d+$/.test(row.name)) continue;
      // Never a second VM for a role someone already has: that is a duplicate to report, not to adopt.
      const taken = assignments.some(
        (a) =>
          a.role === role &&
          (role === 'student'
            ? personId !== null && a.personId === personId
            : role === 'teacher'
              ? true
              : rows.find((r) => r.vmid === a.vmid)?.node === row.node),
      );
      if (taken) continue;
      await store.classes.assignVm({ clusterId, vmid: row.vmid, personId, classId, role }, now);
      assignments.push({ clusterId, vmid: row.vmid, personId, classId, role, createdAt: now });
      adopted++;
    }
  }
  return adopted;
}

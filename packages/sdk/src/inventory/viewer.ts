import type { PersonRole, VmAssignmentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** Who is asking: a lab person with a role (admins see and act on everything). */
export interface Viewer {
  personId: number | null;
  username: string;
  role: PersonRole;
}

/** Classes a person teaches (membership as teacher, or owner of the class). */
export async function classesTaughtBy(store: Store, personId: number): Promise<string[]> {
  const [memberships, classes] = await Promise.all([store.classes.classesOf(personId), store.classes.listClasses()]);
  const member = memberships.filter((m) => m.role === 'teacher').map((m) => m.classId);
  const owned = classes.filter((c) => c.ownerId === personId).map((c) => c.id);
  return [...new Set([...member, ...owned])].sort();
}

/** Why `viewer` may not act on a VM with this assignment, or undefined when it may. */
export async function denialReason(
  store: Store,
  viewer: Viewer,
  assignment: VmAssignmentRecord | undefined,
): Promise<string | undefined> {
  if (viewer.role === 'admin') return undefined;
  if (viewer.personId !== null && assignment?.personId === viewer.personId) return undefined;
  if (viewer.role === 'teacher' && viewer.personId !== null && assignment?.classId) {
    if ((await classesTaughtBy(store, viewer.personId)).includes(assignment.classId)) return undefined;
    return `it belongs to class ${assignment.classId}, which ${viewer.username} does not teach`;
  }
  return assignment ? 'it is not assigned to you' : 'it is not assigned to anyone in the lab';
}

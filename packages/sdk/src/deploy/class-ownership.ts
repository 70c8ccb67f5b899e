import type { VmAssignmentRecord, VmRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { tagsOf } from '../templates/template-inventory.js';

/** The facts ownership is decided on: a guest's tags and, where read, its description. */
export interface OwnershipFacts {
  vmid: number;
  tags?: string | undefined;
  description?: unknown;
}

const ROLES: readonly VmRole[] = ['student', 'teacher', 'base'];
const MARKER = /^proxmox-lab class=([a-z][a-z0-9-]*) role=(student|teacher|base) deployment=([0-9a-f-]+)$/m;

/** The line written into a clone's description at creation, so a VM is recognisable before it is tagged. */
export function creationMarker(classId: string, role: VmRole, deploymentId: string): string {
  return `proxmox-lab class=${classId} role=${role} deployment=${deploymentId}`;
}

/** The creation marker of a description, if it has one. */
export function readCreationMarker(
  description: unknown,
): { classId: string; role: VmRole; deploymentId: string } | undefined {
  const match = typeof description === 'string' ? MARKER.exec(description) : null;
  return match ? { classId: match[1]!, role: match[2] as VmRole, deploymentId: match[3]! } : undefined;
}

/** Whether the guest carries `class-<classId>` exactly (never a prefix: `cs101` is not `cs101-b`). */
export function hasClassTag(guest: { tags?: string | undefined }, classId: string): boolean {
  return tagsOf(guest).includes(`class-${classId}`.toLowerCase());
}

/** The class role in a guest's tags (`role-student` …). */
export function roleTag(guest: { tags?: string | undefined }): VmRole | undefined {
  const tags = tagsOf(guest);
  return ROLES.find((role) => tags.includes(`role-${role}`));
}

/**
 * Whether a guest belongs to class `classId`: our tags say so, its creation marker says so, or the
 * store assigns it to the class. A name never does.
 */
export function ownedByClass(
  guest: OwnershipFacts,
  classId: string,
  assignments: ReadonlyMap<number, VmAssignmentRecord>,
): boolean {
  return (
    hasClassTag(guest, classId) ||
    readCreationMarker(guest.description)?.classId === classId ||
    assignments.get(guest.vmid)?.classId === classId
  );
}

/** The store's assignments of class `classId`'s VMs on one cluster, by VMID. */
export async function classAssignments(
  store: Store,
  clusterId: string,
  classId: string,
): Promise<Map<number, VmAssignmentRecord>> {
  return new Map(
    (await store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId).map((a) => [a.vmid, a]),
  );
}

import { normalisePveTags } from '../pve/pve-tags.js';

/**
 * The prefix of a class's (or one lab role's) own VM names: `cs101`, or `cs101-target` for the
 * `target` role of a class with several VMs per student (`cs101-target-teacher`, `cs101-target-base`).
 */
export function labRolePrefix(classId: string, labRole?: string): string {
  return labRole ? `${classId}-${labRole}` : classId;
}

/** VM name of a class member: `<class>-<username>` made DNS-safe; `<class>-<username>-<role>` for a lab role. */
export function studentVmName(classId: string, username: string, labRole?: string): string {
  const safe =
    username
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'student';
  if (!labRole) return `${classId}-${safe}`.slice(0, 63);
  // The role is kept whole: the name is cut before it (PVE's VM names are DNS names, at most 63).
  return `${`${classId}-${safe}`.slice(0, 62 - labRole.length).replace(/-+$/, '')}-${labRole}`;
}

/** Name of an unassigned student seat: `<class>-seat-01` (`<class>-seat-01-<role>` for a lab role). */
export function seatVmName(classId: string, index: number, labRole?: string): string {
  return `${classId}-seat-${String(index).padStart(2, '0')}${labRole ? `-${labRole}` : ''}`;
}

/** The class's teacher VM name (`cs101-teacher`; `cs101-target-teacher` for a lab role). */
export const teacherVmName = (classId: string, labRole?: string): string =>
  `${labRolePrefix(classId, labRole)}-teacher`;
/** The class's base template name (`cs101-base`; `cs101-target-base` for a lab role). */
export const baseVmName = (classId: string, labRole?: string): string => `${labRolePrefix(classId, labRole)}-base`;

/** The PVE tag that says which lab role a VM plays (`labrole-target`). */
export const labRoleTag = (labRole: string): string => `labrole-${labRole}`;

/** The lab role a VM's tags carry, or undefined for a VM of a class with one unnamed role. */
export function labRoleOfTags(tags: string | undefined | null): string | undefined {
  for (const tag of String(tags ?? '').split(/[;,\s]+/)) if (tag.startsWith('labrole-')) return tag.slice(8);
  return undefined;
}

/**
 * PVE tags that say which class and role a VM belongs to (`lab`, `class-<id>`, `role-<role>`), as
 * PVE stores them: sorted, `;`-joined (`class-cs101;lab;role-student`). Throws `InvalidTagError`
 * for a class id PVE could not carry in a tag.
 */
export function classTags(classId: string, role: 'student' | 'teacher' | 'base', ...extra: string[]): string {
  return normalisePveTags(['lab', `class-${classId}`, `role-${role}`, ...extra]);
}

import { normalisePveTags } from '../pve/pve-tags.js';

/** VM name of a class member: `<class>-<username>` made DNS-safe. */
export function studentVmName(classId: string, username: string): string {
  const safe =
    username
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'student';
  return `${classId}-${safe}`.slice(0, 63);
}

/** Name of an unassigned student seat: `<class>-seat-01`. */
export function seatVmName(classId: string, index: number): string {
  return `${classId}-seat-${String(index).padStart(2, '0')}`;
}

/** The class's teacher VM name. */
export const teacherVmName = (classId: string): string => `${classId}-teacher`;
/** The class's base template name. */
export const baseVmName = (classId: string): string => `${classId}-base`;

/**
 * PVE tags that say which class and role a VM belongs to (`lab`, `class-<id>`, `role-<role>`), as
 * PVE stores them: sorted, `;`-joined (`class-cs101;lab;role-student`). Throws `InvalidTagError`
 * for a class id PVE could not carry in a tag.
 */
export function classTags(classId: string, role: 'student' | 'teacher' | 'base', ...extra: string[]): string {
  return normalisePveTags(['lab', `class-${classId}`, `role-${role}`, ...extra]);
}

import { z } from 'zod';
import { LabError } from '../errors/lab-error.js';
import { normalisePveTags } from '../pve/pve-tags.js';

/** What a teacher asks for: class `classId` with `count` student VMs from `template` (else the class's template). */
export const classSpecSchema = z
  .object({
    classId: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,30}$/,
        'a class id is 2–31 lower-case letters, digits or dashes, starting with a letter (e.g. cs101)',
      ),
    count: z
      .number()
      .int('the student count must be a whole number')
      .min(0, 'the student count cannot be negative')
      .max(500, 'at most 500 students per class'),
    /** The template to clone; the class's own when left out. */
    template: z.string().min(1, 'name a template').optional(),
    clusterId: z.string().optional(),
    strategy: z.enum(['score', 'spread', 'pack']).optional(),
    maxVmsPerNode: z.number().int().positive().optional(),
    /** Who asked (for the audit log). */
    requestedBy: z.string().default('system'),
  })
  .strict();

/** A validated class spec. */
export type ClassSpec = z.output<typeof classSpecSchema>;
/** A class spec as given. */
export type ClassSpecInput = z.input<typeof classSpecSchema>;

/** A deploy request that is wrong; says what to fix. */
export class InvalidDeploymentError extends LabError {
  static override readonly brand: string = '@lab/InvalidDeploymentError';
  static override readonly code: string = 'LAB_DEPLOY_INVALID';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(InvalidDeploymentError.code, message, data);
  }
}

/** Validates a spec; the error names the field and what is allowed. */
export function parseClassSpec(input: unknown): ClassSpec {
  const result = classSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new InvalidDeploymentError(`${issue.path.join('.') || 'spec'}: ${issue.message}`, {
    field: issue.path.join('.'),
  });
}

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

import { z } from 'zod';
import { LabError } from '../errors/lab-error.js';

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
    /**
     * One role of the class's lab definition (`/class set-lab`): its VMs are named and tagged for
     * it (`cs101-alice-target`, `labrole-target`) and get its cores and memory (MiB) when given.
     */
    labRole: z
      .object({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, 'a role is 1–16 lower-case letters, digits or dashes'),
        cores: z.number().int().min(1).max(128).optional(),
        memory: z.number().int().min(64).max(4_194_304).optional(),
      })
      .strict()
      .optional(),
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

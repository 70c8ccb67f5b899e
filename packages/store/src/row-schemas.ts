import { z } from 'zod';
import { IDENTITY_PLATFORM_ID } from '@lab/proxmox-sdk/store';
import { StoreDataError } from './store-data-error.js';

/** The values of each closed set (`z.enum`) read so far, for a lookup before zod. */
const enumValues = new WeakMap<z.ZodType, ReadonlySet<unknown>>();

/**
 * Reads `value` with `schema`; anything else is a `StoreDataError` naming `what` and the problem. A
 * value of a closed set is found in a set first: the sync reads every VM of a cluster (two closed
 * sets per row, 10,000 rows), and zod's parse of each showed in its profile.
 */
export function read<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  if (schema instanceof z.ZodEnum) {
    let values = enumValues.get(schema);
    if (!values) enumValues.set(schema, (values = new Set(schema.options)));
    if (values.has(value)) return value as z.output<S>;
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new StoreDataError({
    what,
    problem: `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'}`,
  });
}

/** JSON text, parsed, then checked with `schema`. */
export function jsonText<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const jsonObject = z.record(z.string(), z.unknown());

/** The closed sets of values and the JSON columns of the store, as it writes them. */
export const rowSchemas = {
  templateHealth: z.enum(['ok', 'missing', 'not-template', 'no-boot-disk', 'unknown']),
  personRole: z.enum(['admin', 'teacher', 'student']),
  /** A registered front end's id: the pattern, since front ends register at run time. */
  identityPlatform: z.string().regex(IDENTITY_PLATFORM_ID),
  memberRole: z.enum(['teacher', 'student']),
  vmRole: z.enum(['student', 'teacher', 'base']),
  vmType: z.enum(['qemu', 'lxc']),
  vmCategory: z.enum(['windows', 'linux', 'other']),
  deploymentStatus: z.enum(['planned', 'running', 'done', 'failed', 'cancelled']),
  itemStatus: z.enum(['pending', 'cloning', 'verifying', 'done', 'failed', 'deleted']),
  itemKind: z.enum(['teacher', 'base', 'student', 'replica', 'delete']),
  auditOutcome: z.enum(['ok', 'denied', 'failed', 'sent']),
  /** A deployment's spec: the request as the engine recorded it (a class spec, a reset or a publish plan). */
  deploymentSpec: jsonText(jsonObject),
  /** Where a deployment's progress is shown, to finish it after a restart. */
  notifyTarget: jsonText(jsonObject),
  auditDetails: jsonText(jsonObject),
  /** A one-time key's payload: any JSON value its owner put there. */
  noncePayload: jsonText(z.json()),
  skipDates: jsonText(z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/))),
};

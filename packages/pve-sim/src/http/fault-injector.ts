import { z } from 'zod';

/** One fault rule: which requests it hits, how often, and what happens to them. */
export const faultRuleSchema = z
  .object({
    /** HTTP method to match; any when absent. */
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).optional(),
    /** Schema path template (`/nodes/{node}/qemu/{vmid}/clone`) or a concrete path prefix. */
    path: z.string().optional(),
    /**
     * What happens: an HTTP error status, a reset before or after handling, a delay, a broken or
     * wrong-shaped body, `empty-list` (`{"data":[]}`, as a confused pmxcfs answers) or `huge-body`
     * (a 200 of `sizeBytes` bytes, generated while it is sent) or `patch-entries` (the real list
     * answer with the entries matching `patch.where` changed, as a corrupted cluster filesystem
     * or a buggy proxy would send them), or `task-warnings` (the task the request starts logs
     * `warnings` `WARN:` lines and, if it would have ended OK, ends `WARNINGS: N`).
     */
    kind: z.enum([
      'http-500',
      'http-502',
      'http-503',
      'http-595',
      'http-596',
      'http-599',
      'reset',
      'reset-after',
      'delay',
      'malformed-json',
      'wrong-shape',
      'empty-list',
      'huge-body',
      'patch-entries',
      'task-warnings',
    ]),
    /** Probability (0–1) per matching request. @defaultValue 1 */
    rate: z.number().min(0).max(1).default(1),
    /** Stop after this many hits. */
    count: z.number().int().positive().optional(),
    /** For `delay`: real milliseconds to wait before answering. */
    delayMs: z.number().int().min(0).max(120_000).optional(),
    /** Reason phrase for HTTP faults. */
    message: z.string().optional(),
    /** For `task-warnings`: how many warnings the task logs. @defaultValue 1 */
    warnings: z.number().int().positive().max(1000).optional(),
    /** For `huge-body`: the body's length in bytes. @defaultValue 700 MiB */
    sizeBytes: z
      .number()
      .int()
      .positive()
      .max(2 ** 40)
      .optional(),
    /**
     * For `patch-entries`: which list entries to change (every field of `where` equal), the fields to
     * `set` and to `unset`, and whether to send each matching entry twice (`duplicate`).
     */
    patch: z
      .object({
        where: z.record(z.string(), z.unknown()),
        set: z.record(z.string(), z.unknown()).optional(),
        unset: z.array(z.string()).optional(),
        duplicate: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((rule) => (rule.kind === 'patch-entries') === (rule.patch !== undefined), {
    message: 'patch is given exactly for kind patch-entries',
    path: ['patch'],
  });

/** What a `patch-entries` rule does to a list answer. */
export type EntryPatch = NonNullable<z.output<typeof faultRuleSchema>['patch']>;

/** The list `data` with the entries matching `patch.where` changed as the patch says; other answers as they are. */
export function patchEntries(data: unknown, patch: EntryPatch): unknown {
  if (!Array.isArray(data)) return data;
  const matches = (entry: unknown): entry is Record<string, unknown> =>
    typeof entry === 'object' &&
    entry !== null &&
    Object.entries(patch.where).every(([key, value]) => (entry as Record<string, unknown>)[key] === value);
  return data.flatMap((entry: unknown) => {
    if (!matches(entry)) return [entry];
    const changed: Record<string, unknown> = { ...entry, ...patch.set };
    for (const key of patch.unset ?? []) delete changed[key];
    return patch.duplicate ? [changed, { ...changed }] : [changed];
  });
}

/** A fault rule as given by a caller. */
export type FaultRule = z.input<typeof faultRuleSchema>;

/** A rule as stored: `hits` counts the requests it fired on; `bytesSent` the body bytes a `huge-body` rule wrote before it finished or the client went away. */
export type StoredRule = z.output<typeof faultRuleSchema> & { hits: number; bytesSent: number };

/** Seeded, reproducible fault injection over requests. */
export class FaultInjector {
  readonly #rules: StoredRule[] = [];

  constructor(private readonly random: () => number) {}

  /** Adds a rule (validated); returns its index. */
  add(rule: FaultRule): number {
    this.#rules.push({ ...faultRuleSchema.parse(rule), hits: 0, bytesSent: 0 });
    return this.#rules.length - 1;
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules.length = 0;
  }

  /** The rules with their hit counts. */
  list(): ReadonlyArray<StoredRule> {
    return this.#rules;
  }

  /** The first rule that fires for this request, if any (consumes one hit). */
  pick(method: string, template: string | undefined, path: string): StoredRule | undefined {
    for (const rule of this.#rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.path && rule.path !== template && !path.startsWith(rule.path)) continue;
      if (rule.count !== undefined && rule.hits >= rule.count) continue;
      if (rule.rate < 1 && this.random() >= rule.rate) continue;
      rule.hits++;
      return rule;
    }
    return undefined;
  }
}

import type { ZodType } from 'zod';
import type { Subcommand } from './command-plugin.js';

/** What a front end needs to know about one zod option of a subcommand, read from its schema. */
export interface OptionShape {
  /** The option's key in the subcommand's `options` object. */
  name: string;
  /** `list` is a `z.array`/`z.set`; `enum` a `z.enum` (its values in `choices`). */
  kind: 'string' | 'number' | 'boolean' | 'list' | 'enum';
  /** Whether a whole number is wanted (`.int()`); only for `number`. */
  integer: boolean;
  /** The smallest and largest value a `number` option takes (`.min()`, `.max()`), when bounded. */
  minimum?: number;
  maximum?: number;
  /** Whether the subcommand refuses to run without it (no `.optional()` or `.default()`). */
  required: boolean;
  /** The `.describe()` text, of the option or else of the schema it wraps (`.optional()`, `.default()`), or ''. */
  description: string;
  /**
   * The `.describe()` text on the option itself only, or '': Discord and the web pages show this
   * (else the name), so what they registered and show stays as it was.
   */
  ownDescription: string;
  /** The allowed values of an `enum` option. */
  choices?: string[];
  /** The `.default()` value, when there is one. */
  default?: unknown;
}

type Def = {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  out?: ZodType;
  entries?: Record<string, string>;
  defaultValue?: unknown;
};
const defOf = (schema: ZodType): Def => schema._zod.def;

/**
 * Reads one zod option through optional, default, pipe and preprocess wrappers (zod 4's `def`): a
 * pipe is typed by its input, unless that input is a preprocessing transform (`z.preprocess`).
 */
export function readOptionShape(name: string, schema: ZodType): OptionShape {
  let current = schema;
  let description = current.description;
  let defaultValue: { value: unknown } | undefined;
  for (let def = defOf(current); ; def = defOf(current)) {
    if (def.type === 'default' && !defaultValue) defaultValue = { value: def.defaultValue };
    const next =
      def.innerType ??
      (def.type === 'pipe' ? (def.in && defOf(def.in).type === 'transform' ? def.out : def.in) : undefined);
    if (!next) break;
    current = next;
    description ??= current.description;
  }
  const def = defOf(current);
  const base = {
    name,
    integer: false,
    required: !schema.safeParse(undefined).success,
    description: description ?? '',
    ownDescription: schema.description ?? '',
    ...(defaultValue ? { default: defaultValue.value } : {}),
  };
  if (def.type === 'boolean') return { ...base, kind: 'boolean' };
  if (def.type === 'number') {
    const number = current as unknown as { isInt?: boolean; minValue?: number | null; maxValue?: number | null };
    const bound = (value: number | null | undefined) =>
      value !== undefined && value !== null && Number.isFinite(value) ? value : undefined;
    const minimum = bound(number.minValue);
    const maximum = bound(number.maxValue);
    return {
      ...base,
      kind: 'number',
      integer: number.isInt === true,
      ...(minimum !== undefined && minimum > Number.MIN_SAFE_INTEGER ? { minimum } : {}),
      ...(maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER ? { maximum } : {}),
    };
  }
  if (def.type === 'int' || def.type === 'bigint') return { ...base, kind: 'number', integer: true };
  if (def.type === 'array' || def.type === 'set') return { ...base, kind: 'list' };
  if (def.type === 'enum' && def.entries)
    return { ...base, kind: 'enum', choices: Object.values(def.entries).map(String) };
  return { ...base, kind: 'string' };
}

/** The shapes of a subcommand's options, in the order its `options` object declares them. */
export function readOptionShapes(sub: Pick<Subcommand, 'options'>): OptionShape[] {
  return Object.entries(sub.options.shape as Record<string, ZodType>).map(([name, schema]) =>
    readOptionShape(name, schema),
  );
}

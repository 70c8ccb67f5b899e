import type { ZodType } from 'zod';
import type { CommandPlugin, Subcommand } from '@lab/commands';

type Def = {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  out?: ZodType;
  element?: ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
  options?: ZodType[];
  checks?: Array<{ _zod: { def: { check: string; value?: number; inclusive?: boolean } } }>;
};
const defOf = (schema: ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/**
 * Strings a person would type into an option, most demanding first (spaces, quotes-worthy text), so
 * a free-text option gets a value that needs quoting and a pattern-checked one the first that fits.
 */
const TYPED_STRINGS = [
  'Intro to Computing, 2nd term',
  'cs101',
  'alice@example.com',
  '2027-03-01',
  'pve1=9000',
  '100-199',
  'ip=dhcp',
  'K7PQ2M9A',
  '+5h',
  '7d',
];

/** The core schema of an option: through optional, default, nullable and pipes (a preprocess's output). */
function coreOf(schema: ZodType): ZodType {
  let current = schema;
  for (let depth = 0; depth < 16; depth++) {
    const def = defOf(current);
    const next =
      def.innerType ??
      (def.type === 'pipe' ? (def.in && defOf(def.in).type === 'transform' ? def.out : def.in) : undefined);
    if (!next) return current;
    current = next;
  }
  return current;
}

/** Values of the core schema's kind, from its own definition (enum entries, number bounds), to try in order. */
function candidates(schema: ZodType): unknown[] {
  const core = coreOf(schema);
  const def = defOf(core);
  switch (def.type) {
    case 'boolean':
      return [true, false];
    case 'enum':
      return Object.values(def.entries ?? {});
    case 'literal':
      return def.values ?? [];
    case 'union':
      return (def.options ?? []).flatMap(candidates);
    case 'array':
      // A list's items are words: lists split on spaces and commas where a platform sends one string.
      return candidates(def.element!)
        .filter((item) => typeof item !== 'string' || !/[\s,]/.test(item))
        .map((item) => [item]);
    case 'number': {
      const bounds = (def.checks ?? []).map((c) => c._zod.def);
      const low = bounds.find((b) => b.check === 'greater_than')?.value ?? 0;
      // A fractional value first: it tells an integer option from a decimal one on the way through.
      return [low + 1.5, low + 2, low + 1, low, 10];
    }
    case 'string':
      return TYPED_STRINGS;
    default:
      return [];
  }
}

/** A value `schema` accepts, built from the schema itself; throws naming the option when there is none. */
export function sampleValue(schema: ZodType, where: string): unknown {
  const found = candidates(schema).find((value) => schema.safeParse(value).success);
  if (found === undefined)
    throw new Error(
      `no sample value fits option ${where}: teach option-samples.ts its kind (${defOf(coreOf(schema)).type})`,
    );
  return found;
}

/** The kind of an option's core schema: how a front end must type its value. */
export function coreKind(schema: ZodType): string {
  return defOf(coreOf(schema)).type;
}

/** One option of one subcommand, with a value its schema accepts and the value the handler must get. */
export interface OptionCase {
  command: string;
  subcommand: string;
  option: string;
  /** Where it stands among the positional words, or -1 when it is a flag only. */
  position: number;
  sub: Subcommand;
  /** Every option sent: the required ones, plus `option`. */
  values: Record<string, unknown>;
  /** What the command handler must receive for `option` (the schema's output of the sample). */
  expected: unknown;
}

/** Every option of every subcommand of `plugins`, each with the required options its subcommand needs. */
export function everyOption(plugins: Iterable<CommandPlugin>): OptionCase[] {
  const cases: OptionCase[] = [];
  for (const plugin of plugins)
    for (const [subcommand, sub] of Object.entries(plugin.subcommands)) {
      const shape = sub.options.shape as Record<string, ZodType>;
      const where = (option: string) => `${plugin.name} ${subcommand} ${option}`;
      const required = Object.fromEntries(
        Object.entries(shape)
          .filter(([, schema]) => !schema.safeParse(undefined).success)
          .map(([option, schema]) => [option, sampleValue(schema, where(option))]),
      );
      for (const [option, schema] of Object.entries(shape)) {
        const value = option in required ? required[option] : sampleValue(schema, where(option));
        cases.push({
          command: plugin.name,
          subcommand,
          option,
          position: sub.positional.indexOf(option),
          sub,
          values: { ...required, [option]: value },
          expected: schema.parse(value),
        });
      }
    }
  return cases;
}

/** A word of Slack command text: quoted when it holds spaces. */
const word = (value: unknown): string => {
  const text = String(value);
  return /\s/.test(text) ? `"${text}"` : text;
};

/** `--name value` words for one option (`--flag`, `--flag=false`, a list's items repeated). */
function flagWords(option: string, value: unknown): string[] {
  if (value === true) return [`--${option}`];
  if (value === false) return [`--${option}=false`];
  if (Array.isArray(value)) return value.flatMap((item) => [`--${option}`, word(item)]);
  return [`--${option}`, word(value)];
}

/**
 * Slack command text for a case: every option as a flag, or (`positional`) the positional options up
 * to the tested one as words in order, as people type them (`deploy cs101 10`).
 */
export function slackText(c: OptionCase, positional: boolean): string {
  const words = [c.subcommand];
  const asWords = positional ? c.sub.positional.slice(0, c.position + 1) : [];
  for (const option of asWords) {
    const value = c.values[option] ?? sampleValue((c.sub.options.shape as Record<string, ZodType>)[option]!, option);
    words.push(...(Array.isArray(value) ? value.map(word) : [word(value)]));
  }
  for (const [option, value] of Object.entries(c.values))
    if (!asWords.includes(option)) words.push(...flagWords(option, value));
  return words.join(' ');
}

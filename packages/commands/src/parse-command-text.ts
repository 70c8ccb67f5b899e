import type { ZodObject, ZodType } from 'zod';
import { readOptionShape, readOptionShapes, type OptionShape } from './option-shapes.js';

const CLOSING: Record<string, string> = { '"': '"', "'": "'", '“': '”', '”': '”', '‘': '’' };

/**
 * Splits command text into words: whitespace separates, and a quote (straight or typographic, as
 * chat clients send them) at the start of a word or after `=` groups a phrase:
 * `--name "Intro to Computing"`, `--name="A B"`. Other quotes are kept (`O'Brien`); an unclosed
 * quote runs to the end of the text.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (CLOSING[ch] !== undefined && (!inWord || current.endsWith('='))) {
      quote = CLOSING[ch];
      inWord = true;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Options and positional words read from command text, or why they cannot be. */
export type ParsedCommandText =
  { ok: true; options: Record<string, unknown>; extraWords: number } | { ok: false; error: string };

/** Whether an option is a list (`z.array`, possibly optional, defaulted or preprocessed). */
export function isListOption(schema: ZodType): boolean {
  return readOptionShape('', schema).kind === 'list';
}
const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Reads named options and positional words from the words after a subcommand (Slack and CLI text):
 * `--name value`, `--name=value`, bare `--flag` for boolean options (`--flag=false` too), and a
 * repeated `--map a --map b` for list options (`z.array`), which also take a comma-separated value.
 * Words that are not options fill `positional` in order; a list option last in `positional` takes
 * every remaining word (`enrol cs101 alice bob`); options already in `preset` take no word.
 * `extraWords` counts words nothing took.
 */
export function parseCommandText(
  words: readonly string[],
  schema: ZodObject,
  positional: readonly string[],
  preset: Readonly<Record<string, unknown>> = {},
): ParsedCommandText {
  const shape: Record<string, OptionShape> = Object.fromEntries(
    readOptionShapes({ options: schema }).map((option) => [option.name, option]),
  );
  const options: Record<string, unknown> = {};
  const loose: string[] = [];
  const resolve = (flag: string): string | undefined =>
    flag in shape ? flag : Object.keys(shape).find((k) => k === camel(flag) || camel(k) === camel(flag));
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('--') || word.length === 2 || /^--\d/.test(word)) {
      loose.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const flag = word.slice(2, eq === -1 ? undefined : eq);
    const name = resolve(flag);
    if (!name) return { ok: false, error: `Unknown option --${flag}.` };
    const option = shape[name]!;
    let value: unknown;
    if (option.kind === 'boolean') {
      const given = eq === -1 ? 'true' : word.slice(eq + 1).toLowerCase();
      if (given !== 'true' && given !== 'false')
        return { ok: false, error: `--${flag} is a switch: give it alone, or as --${flag}=false.` };
      value = given === 'true';
    } else if (eq !== -1) {
      value = word.slice(eq + 1);
    } else {
      const next = words[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        return { ok: false, error: `--${flag} needs a value.` };
      value = next;
      i++;
    }
    if (option.kind === 'list') {
      const items = String(value)
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      options[name] = [...((options[name] as string[] | undefined) ?? []), ...items];
    } else if (name in options) {
      return { ok: false, error: `--${flag} is given twice.` };
    } else {
      options[name] = value;
    }
  }
  let used = 0;
  positional.forEach((name, n) => {
    if (used >= loose.length || name in options || preset[name] !== undefined) return;
    const option = shape[name]!;
    if (n === positional.length - 1 && option.kind === 'list') {
      options[name] = loose.slice(used);
      used = loose.length;
    } else {
      options[name] = loose[used++];
    }
  });
  return { ok: true, options, extraWords: loose.length - used };
}

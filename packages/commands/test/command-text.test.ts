import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseCommandText, splitWords } from '../src/index.js';

const list = z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.string()).min(1));
const schema = z.object({
  name: z.string(),
  class: z.string().optional(),
  map: list.optional(),
  force: z.boolean().default(false),
  'class-templates': z.boolean().optional(),
});

describe('command text', () => {
  it('splits words, keeping quoted phrases (straight or typographic) and apostrophes inside words', () => {
    expect(splitWords('  create cs101 --name "Intro to Computing"  ')).toEqual([
      'create',
      'cs101',
      '--name',
      'Intro to Computing',
    ]);
    expect(splitWords("--name='A B' “Curly quotes” O'Brien ''")).toEqual(['--name=A B', 'Curly quotes', "O'Brien", '']);
    expect(splitWords('"unclosed runs to the end')).toEqual(['unclosed runs to the end']);
  });

  it('reads --name value, --name=value, switches and repeated list options', () => {
    const parsed = parseCommandText(
      splitWords('ubuntu --map pve1=9000 --map=pve2=9100,pve3=9200 --force --class-templates=false --class cs101'),
      schema,
      ['name'],
    );
    expect(parsed).toEqual({
      ok: true,
      extraWords: 0,
      options: {
        name: 'ubuntu',
        map: ['pve1=9000', 'pve2=9100', 'pve3=9200'],
        force: true,
        'class-templates': false,
        class: 'cs101',
      },
    });
  });

  it('lets a list option last in the positional order take the remaining words', () => {
    const enrol = z.object({ class: z.string(), students: z.array(z.string()) });
    expect(parseCommandText(['cs101', 'alice', 'bob', 'carol'], enrol, ['class', 'students'])).toEqual({
      ok: true,
      extraWords: 0,
      options: { class: 'cs101', students: ['alice', 'bob', 'carol'] },
    });
  });

  it('counts words nothing takes, and skips positionals given another way', () => {
    expect(parseCommandText(['a', 'b'], schema, ['name'])).toMatchObject({ ok: true, extraWords: 1 });
    expect(parseCommandText(['cs101'], schema, ['name', 'class'], { name: 'given' })).toEqual({
      ok: true,
      extraWords: 0,
      options: { class: 'cs101' },
    });
  });

  it('names what is wrong: unknown options, missing values, a single option twice, a switch with a value', () => {
    expect(parseCommandText(['--nope', 'x'], schema, [])).toEqual({ ok: false, error: 'Unknown option --nope.' });
    expect(parseCommandText(['--name'], schema, [])).toEqual({ ok: false, error: '--name needs a value.' });
    expect(parseCommandText(['--name', '--force'], schema, [])).toEqual({ ok: false, error: '--name needs a value.' });
    expect(parseCommandText(['--name', 'a', '--name', 'b'], schema, [])).toEqual({
      ok: false,
      error: '--name is given twice.',
    });
    expect(parseCommandText(['--force=maybe'], schema, [])).toEqual({
      ok: false,
      error: '--force is a switch: give it alone, or as --force=false.',
    });
  });
});

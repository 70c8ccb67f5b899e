import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readOptionShape, readOptionShapes, subcommand, wholeNumber } from '../src/index.js';

describe('reading option schemas', () => {
  it('reads each kind of option through optional, default and preprocess wrappers', () => {
    const shapes = readOptionShapes(
      subcommand({
        description: 'sample',
        positional: ['name'],
        role: 'student',
        options: z.object({
          name: z.string().describe('the name'),
          count: wholeNumber('how many', 1, 10).default(3),
          ratio: z.number().optional().describe('a ratio'),
          force: z.boolean().optional(),
          students: z.array(z.string()).optional().describe('students'),
          mode: z.enum(['fast', 'safe']).describe('inner').optional(),
        }),
        run: async () => ({ text: '' }),
      }),
    );
    expect(shapes).toEqual([
      {
        name: 'name',
        kind: 'string',
        integer: false,
        required: true,
        description: 'the name',
        ownDescription: 'the name',
      },
      {
        name: 'count',
        kind: 'number',
        integer: true,
        minimum: 1,
        maximum: 10,
        required: false,
        description: 'how many',
        ownDescription: '',
        default: 3,
      },
      {
        name: 'ratio',
        kind: 'number',
        integer: false,
        required: false,
        description: 'a ratio',
        ownDescription: 'a ratio',
      },
      { name: 'force', kind: 'boolean', integer: false, required: false, description: '', ownDescription: '' },
      {
        name: 'students',
        kind: 'list',
        integer: false,
        required: false,
        description: 'students',
        ownDescription: 'students',
      },
      {
        name: 'mode',
        kind: 'enum',
        integer: false,
        required: false,
        description: 'inner',
        ownDescription: '',
        choices: ['fast', 'safe'],
      },
    ]);
  });

  it('reads a preprocessed list as a list and a required boolean as required', () => {
    const list = z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.string()));
    expect(readOptionShape('map', list).kind).toBe('list');
    expect(readOptionShape('yes', z.boolean())).toMatchObject({ kind: 'boolean', required: true });
  });
});

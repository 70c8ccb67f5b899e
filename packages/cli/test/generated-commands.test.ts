import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinPlugins, subcommand, wholeNumber, type CommandPlugin } from '@lab/commands';
import { createLabProgram } from '../src/index.js';
import type { PluginCall } from '../src/plugin-commands.js';

// A plugin the CLI has never heard of, shaped like the ones front ends register.
const gadgets: CommandPlugin = {
  name: 'gadgets',
  description: 'Gadgets of the lab',
  subcommands: {
    add: subcommand({
      description: 'Add a gadget',
      options: z.object({
        name: z.string().describe('gadget name'),
        displayName: z.string().optional().describe('full name'),
        kind: z.enum(['small', 'large']).default('small').describe('its size'),
        seats: wholeNumber('VM seats', 1, 5).optional(),
        tag: z.array(z.string()).optional().describe('a tag'),
        apply: z.boolean().optional().describe('write the change'),
      }),
      positional: ['name'],
      role: 'admin',
      run: async () => ({ text: '' }),
    }),
  },
};
const plugins = [...builtinPlugins, gadgets];

function parse(argv: string[]): Promise<PluginCall> {
  return new Promise((resolve, reject) => {
    const program = createLabProgram(plugins, { run: async (call) => resolve(call) });
    program.configureOutput({
      writeOut: () => undefined,
      writeErr: () => undefined,
      outputError: (text) => reject(new Error(text.trim())),
    });
    program.parseAsync(argv, { from: 'user' }).catch(reject);
  });
}

function help(path: string[]): string {
  let command = createLabProgram(plugins);
  for (const name of path) command = command.commands.find((c) => c.name() === name)!;
  return command.helpInformation();
}

describe('commands generated from the plugin registry', () => {
  it("turns a newly registered plugin's subcommands into lab <plugin> <subcommand>, options from its schema", async () => {
    const call = await parse([
      'gadgets',
      'add',
      'bob',
      '--display-name',
      'Bob B',
      '--kind',
      'large',
      '--seats',
      '2',
      '--tag',
      'a',
      '--tag',
      'b',
      '--apply',
      '--json',
    ]);
    expect(call).toMatchObject({
      plugin: 'gadgets',
      subcommand: 'add',
      options: { name: 'bob', displayName: 'Bob B', kind: 'large', seats: 2, tag: ['a', 'b'], apply: true },
    });
    expect(call.command.optsWithGlobals()).toMatchObject({ json: true });
    await expect(parse(['gadgets', 'add', 'bob', '--kind', 'huge'])).rejects.toThrow(
      /Allowed choices are small, large/,
    );
  });

  it('passes a number flag on only when written as a decimal number, so the schema refuses 0x10, 1e3 and an empty word', async () => {
    for (const [word, passed] of [
      ['2', 2],
      ['1.5', 1.5],
      ['0x10', '0x10'],
      ['1e3', '1e3'],
      ['', ''],
    ] as const) {
      const call = await parse(['gadgets', 'add', 'bob', '--seats', word]);
      expect(call.options.seats, word).toBe(passed);
    }
  });

  it("runs the README's setup commands as written", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-roster-'));
    try {
      writeFileSync(join(dir, 'roster.csv'), 'username,name,role\nlovelace,Ada Lovelace,teacher\n');
      expect(await parse(['people', 'import', join(dir, 'roster.csv'), '--apply'])).toMatchObject({
        plugin: 'people',
        subcommand: 'import',
        options: { csv: 'username,name,role\nlovelace,Ada Lovelace,teacher\n', apply: true },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(parse(['people', 'import', 'no-such-roster.csv'])).rejects.toThrow(
      /^Cannot read no-such-roster\.csv \(ENOENT\)/,
    );
    expect(
      await parse([
        'class',
        'create',
        'cs101',
        '--name',
        'Intro to Computing',
        '--teacher',
        'lovelace',
        '--template',
        'ubuntu-24.04',
      ]),
    ).toMatchObject({
      plugin: 'class',
      subcommand: 'create',
      options: { id: 'cs101', name: 'Intro to Computing', teacher: 'lovelace', template: 'ubuntu-24.04' },
    });
    expect(await parse(['template', 'add', 'ubuntu-24.04', '--map', 'pve1=9000', '--map', 'pve2=9100'])).toMatchObject({
      plugin: 'template',
      subcommand: 'add',
      options: { name: 'ubuntu-24.04', map: ['pve1=9000', 'pve2=9100'] },
    });
    expect(await parse(['link', 'lovelace', '--slack', 'U0123ABCD'])).toMatchObject({
      plugin: 'people',
      subcommand: 'link',
      options: { username: 'lovelace', slack: 'U0123ABCD' },
    });
    expect(await parse(['class', 'enrol', 'cs101', 'alice', 'bob'])).toMatchObject({
      options: { class: 'cs101', students: ['alice', 'bob'] },
    });
  });

  it("puts the lab plugin's subcommands at the top and keeps the README's commands as written", async () => {
    expect(
      await parse(['--config', 'lab.config.json', 'deploy', 'cs101', '10', 'ubuntu-24.04', '--as', 'lovelace']),
    ).toMatchObject({
      plugin: 'lab',
      subcommand: 'deploy',
      options: { class: 'cs101', count: '10', template: 'ubuntu-24.04' },
    });
    expect(await parse(['myvm', 'start', '--as', 'alice'])).toMatchObject({
      plugin: 'myvm',
      subcommand: 'start',
      options: {},
    });
    expect(await parse(['sync', '--once'])).toMatchObject({ plugin: 'lab', subcommand: 'sync' });
    expect(await parse(['destroy', 'cs101', '--yes'])).toMatchObject({ options: { class: 'cs101' } });
    await expect(parse(['peeple', 'add', 'bob'])).rejects.toThrow("unknown command 'peeple'\n(Did you mean people?)");
  });

  it('writes help from the zod descriptions, global options included', () => {
    const text = help(['gadgets', 'add']);
    expect(text).toMatch(/Usage: lab gadgets add \[options\] <name>/);
    expect(text).toMatch(/--display-name <value> +full name/);
    expect(text).toMatch(/--tag <value> +a tag \(repeat for several\)/);
    expect(text).toMatch(/--json +machine-readable output/);
    expect(help(['deploy'])).toMatch(/count +number of student VMs/);
    expect(help(['people', 'import'])).toMatch(/Usage: lab people import \[options\] <csv-file>/);
    expect(help(['class', 'enrol'])).toMatch(/<students\.\.\.>/);
    expect(help([])).toMatch(/gadgets +Gadgets of the lab/);
  });
});

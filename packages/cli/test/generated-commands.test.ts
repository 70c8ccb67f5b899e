import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinPlugins, subcommand, wholeNumber, type CommandPlugin } from '@lab/commands';
import { createLabProgram } from '../src/index.js';
import type { PluginCall } from '../src/plugin-commands.js';

// A plugin the CLI has never heard of, shaped like the ones other front ends register.
const people: CommandPlugin = {
  name: 'people',
  description: 'People of the lab',
  subcommands: {
    add: subcommand({
      description: 'Add a person',
      options: z.object({
        username: z.string().describe('lab username'),
        displayName: z.string().optional().describe('full name'),
        role: z.enum(['student', 'teacher', 'admin']).default('student').describe('their role'),
        seats: wholeNumber('VM seats', 1, 5).optional(),
        map: z.array(z.string()).optional().describe('node=vmid'),
        apply: z.boolean().optional().describe('write the change'),
      }),
      positional: ['username'],
      role: 'admin',
      run: async () => ({ text: '' }),
    }),
  },
};

function parse(argv: string[]): Promise<PluginCall> {
  return new Promise((resolve, reject) => {
    const program = createLabProgram([...builtinPlugins, people], { run: async (call) => resolve(call) });
    program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: (text) => reject(new Error(text.trim())) });
    program.parseAsync(argv, { from: 'user' }).catch(reject);
  });
}

function help(path: string[]): string {
  let command = createLabProgram([...builtinPlugins, people]);
  for (const name of path) command = command.commands.find((c) => c.name() === name)!;
  return command.helpInformation();
}

describe('commands generated from the plugin registry', () => {
  it("turns a newly registered plugin's subcommands into lab <plugin> <subcommand>, options from its schema", async () => {
    const call = await parse(['people', 'add', 'bob', '--display-name', 'Bob B', '--role', 'teacher', '--seats', '2', '--map', 'pve1=9000', '--map', 'pve2=9100', '--apply', '--json']);
    expect(call).toMatchObject({ plugin: 'people', subcommand: 'add', options: { username: 'bob', displayName: 'Bob B', role: 'teacher', seats: 2, map: ['pve1=9000', 'pve2=9100'], apply: true } });
    expect(call.command.optsWithGlobals()).toMatchObject({ json: true });
    await expect(parse(['people', 'add', 'bob', '--role', 'janitor'])).rejects.toThrow(/Allowed choices are student, teacher, admin/);
  });

  it("puts the lab plugin's subcommands at the top and keeps the README's commands as written", async () => {
    expect(await parse(['--config', 'lab.config.json', 'deploy', 'cs101', '10', 'ubuntu-24.04', '--as', 'lovelace'])).toMatchObject({ plugin: 'lab', subcommand: 'deploy', options: { class: 'cs101', count: '10', template: 'ubuntu-24.04' } });
    expect(await parse(['myvm', 'start', '--as', 'alice'])).toMatchObject({ plugin: 'myvm', subcommand: 'start', options: {} });
    expect(await parse(['sync', '--once'])).toMatchObject({ plugin: 'lab', subcommand: 'sync' });
    expect(await parse(['destroy', 'cs101', '--yes'])).toMatchObject({ options: { class: 'cs101' } });
    await expect(parse(['peeple', 'add', 'bob'])).rejects.toThrow("unknown command 'peeple'\n(Did you mean people?)");
  });

  it('writes help from the zod descriptions, global options included', () => {
    const text = help(['people', 'add']);
    expect(text).toMatch(/Usage: lab people add \[options\] <username>/);
    expect(text).toMatch(/--display-name <value> +full name/);
    expect(text).toMatch(/--map <value> +node=vmid \(repeat for several\)/);
    expect(text).toMatch(/--json +machine-readable output/);
    expect(help(['deploy'])).toMatch(/count +number of student VMs/);
    expect(help([])).toMatch(/people +People of the lab/);
  });
});

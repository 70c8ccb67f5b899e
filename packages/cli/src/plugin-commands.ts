import { Option, type Command } from 'commander';
import type { ZodType } from 'zod';
import type { CommandPlugin, Subcommand } from '@lab/commands';

/** What the CLI knows about one zod option, read from its schema. */
export interface OptionShape {
  kind: 'string' | 'number' | 'boolean' | 'list';
  required: boolean;
  description: string;
  choices?: string[];
}

type Def = { type: string; innerType?: ZodType; in?: ZodType; element?: ZodType; entries?: Record<string, string> };
const defOf = (schema: ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Reads the kind, requiredness, description and choices of a zod option (through optional, default, pipe). */
export function optionShape(schema: ZodType): OptionShape {
  let current = schema;
  let description = current.description;
  for (let def = defOf(current); ; def = defOf(current)) {
    const next = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!next) break;
    current = next;
    description ??= current.description;
  }
  const def = defOf(current);
  const required = !schema.safeParse(undefined).success;
  const base = { required, description: description ?? '' };
  if (def.type === 'boolean') return { kind: 'boolean', ...base };
  if (def.type === 'number' || def.type === 'int' || def.type === 'bigint') return { kind: 'number', ...base };
  if (def.type === 'array' || def.type === 'set') return { kind: 'list', ...base };
  if (def.type === 'enum' && def.entries) return { kind: 'string', ...base, choices: Object.values(def.entries).map(String) };
  return { kind: 'string', ...base };
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One generated command asks the router to run `plugin`'s `subcommand` with these options. */
export interface PluginCall {
  plugin: string;
  subcommand: string;
  options: Record<string, unknown>;
  /** The commander command, for its global options (`optsWithGlobals()`). */
  command: Command;
}

/**
 * Adds a command for every subcommand of every plugin, from the plugin's zod schemas: the `lab`
 * plugin's subcommands at the top (`lab deploy`), every other plugin as a group (`lab myvm start`,
 * `lab people add`). Positional options become arguments, the others `--kebab-case` flags (lists
 * repeat: `--map a --map b`); descriptions come from `.describe()`. Names a command already has
 * (the CLI's own chores, global flags) win over plugin ones.
 */
export function addPluginCommands(program: Command, plugins: Iterable<CommandPlugin>, run: (call: PluginCall) => Promise<void>, extend: (plugin: string, subcommand: string, command: Command) => void = () => undefined): void {
  const reserved = new Set(program.options.map((o) => o.attributeName()));
  for (const plugin of plugins) {
    let parent = program;
    if (plugin.name !== 'lab') {
      if (program.commands.some((c) => c.name() === plugin.name) || Object.keys(plugin.subcommands).length === 0) continue;
      parent = program.command(plugin.name).description(plugin.description);
    }
    for (const [name, sub] of Object.entries(plugin.subcommands)) {
      if (parent.commands.some((c) => c.name() === name)) continue;
      const command = parent.command(name).description(sub.description);
      const flags = describeSubcommand(command, sub, reserved);
      extend(plugin.name, name, command);
      command.action(async (...args: unknown[]) => {
        const options: Record<string, unknown> = {};
        sub.positional.forEach((key, i) => {
          if (args[i] !== undefined) options[key] = args[i];
        });
        const given = command.opts();
        for (const [attribute, { key, shape }] of flags) {
          const value = given[attribute];
          if (value === undefined) continue;
          options[key] = shape.kind === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
        }
        await run({ plugin: plugin.name, subcommand: name, options, command });
      });
    }
  }
}

function describeSubcommand(command: Command, sub: Subcommand, reserved: Set<string>): Map<string, { key: string; shape: OptionShape }> {
  const shape = sub.options.shape as Record<string, ZodType>;
  for (const key of sub.positional) {
    const option = optionShape(shape[key]!);
    command.argument(option.required ? `<${key}>` : `[${key}]`, option.description);
  }
  const flags = new Map<string, { key: string; shape: OptionShape }>();
  for (const [key, schema] of Object.entries(shape)) {
    if (sub.positional.includes(key)) continue;
    const option = optionShape(schema);
    const flag = option.kind === 'boolean' ? `--${kebab(key)}` : `--${kebab(key)} <${option.kind === 'number' ? 'n' : 'value'}>`;
    const cliOption = new Option(flag, `${option.description}${option.kind === 'list' ? ' (repeat for several)' : ''}`);
    if (reserved.has(cliOption.attributeName())) continue;
    if (option.choices) cliOption.choices(option.choices);
    if (option.kind === 'list') cliOption.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    if (option.required) cliOption.makeOptionMandatory();
    command.addOption(cliOption);
    flags.set(cliOption.attributeName(), { key, shape: option });
  }
  return flags;
}

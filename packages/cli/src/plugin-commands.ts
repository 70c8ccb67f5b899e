import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { DECIMAL_NUMBER, readOptionShapes, type CommandPlugin, type OptionShape, type Subcommand } from '@lab/commands';
import { CliUsageError } from './cli-errors.js';

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One generated command asks the router to run `plugin`'s `subcommand` with these options. */
export interface PluginCall {
  plugin: string;
  subcommand: string;
  options: Record<string, unknown>;
  /** The commander command, for its global options (`optsWithGlobals()`). */
  command: Command;
}

/** How `addPluginCommands` runs and shapes the generated commands. */
export interface PluginCommandOptions {
  /** Runs one generated command (through the router). */
  run: (call: PluginCall) => Promise<void>;
  /** Adds CLI-only flags to a generated command. */
  extend?: (plugin: string, subcommand: string, command: Command) => void;
  /**
   * Top-level names that run another plugin's subcommand instead of the `lab` plugin's own, when
   * that plugin is registered: `{ link: { plugin: 'people', subcommand: 'link' } }` makes
   * `lab link alice --slack U1` run `/people link` (the chat form of `/lab link` needs a mention).
   */
  aliases?: Record<string, { plugin: string; subcommand: string }>;
}

/**
 * Adds a command for every subcommand of every plugin, from the plugin's zod schemas: the `lab`
 * plugin's subcommands at the top (`lab deploy`), every other plugin as a group (`lab myvm start`,
 * `lab people add`). Positional options become arguments, the others `--kebab-case` flags (lists
 * repeat: `--map a --map b`); descriptions come from `.describe()`; a subcommand's `fileOptions`
 * take a file name and pass the file's text. Names a command already has (the CLI's own chores,
 * global flags) win over plugin ones.
 */
export function addPluginCommands(
  program: Command,
  plugins: Iterable<CommandPlugin>,
  options: PluginCommandOptions,
): void {
  const all = [...plugins];
  const reserved = new Set(program.options.map((o) => o.attributeName()));
  for (const plugin of all) {
    let parent = program;
    if (plugin.name !== 'lab') {
      if (program.commands.some((c) => c.name() === plugin.name) || Object.keys(plugin.subcommands).length === 0)
        continue;
      parent = program.command(plugin.name).description(plugin.description);
    }
    for (const [name, own] of Object.entries(plugin.subcommands)) {
      if (parent.commands.some((c) => c.name() === name)) continue;
      const alias = plugin.name === 'lab' ? options.aliases?.[name] : undefined;
      const aliased = alias && all.find((p) => p.name === alias.plugin)?.subcommands[alias.subcommand];
      const target = aliased
        ? { plugin: alias.plugin, subcommand: alias.subcommand, sub: aliased }
        : { plugin: plugin.name, subcommand: name, sub: own };
      const sub = target.sub;
      const command = parent.command(name).description(sub.description);
      const flags = describeSubcommand(command, sub, reserved);
      options.extend?.(target.plugin, target.subcommand, command);
      command.action(async (...args: unknown[]) => {
        const values: Record<string, unknown> = {};
        sub.positional.forEach((key, i) => {
          if (args[i] !== undefined && !(Array.isArray(args[i]) && args[i].length === 0)) values[key] = args[i];
        });
        const given = command.opts<Record<string, unknown>>();
        for (const [attribute, { key, shape }] of flags) {
          const value = given[attribute];
          if (value === undefined) continue;
          if (key in values && values[key] !== value)
            throw new CliUsageError(`Give ${key} once: as a word or as --${kebab(key)}, not both.`, { option: key });
          values[key] =
            shape.kind === 'number' && typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : value;
        }
        for (const key of sub.fileOptions ?? []) {
          if (typeof values[key] === 'string') values[key] = readNamedFile(values[key]);
        }
        await options.run({ plugin: target.plugin, subcommand: target.subcommand, options: values, command });
      });
    }
  }
}

function readNamedFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(
      `Cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); name a file that exists and that you may read.`,
      { path },
    );
  }
}

function describeSubcommand(
  command: Command,
  sub: Subcommand,
  reserved: Set<string>,
): Map<string, { key: string; shape: OptionShape }> {
  const shapes = new Map(readOptionShapes(sub).map((option) => [option.name, option]));
  const files = new Set<string>(sub.fileOptions ?? []);
  for (const key of sub.positional) {
    const option = shapes.get(key)!;
    const word = `${files.has(key) ? `${key}-file` : key}${option.kind === 'list' ? '...' : ''}`;
    command.argument(
      option.required ? `<${word}>` : `[${word}]`,
      files.has(key) ? `a file: ${option.description}` : option.description,
    );
  }
  const flags = new Map<string, { key: string; shape: OptionShape }>();
  for (const [key, option] of shapes) {
    // An optional single-word positional may also be named (`lab audit --class cs101` = `lab audit cs101`).
    if (
      sub.positional.includes(key) &&
      (option.required || (option.kind !== 'string' && option.kind !== 'enum') || files.has(key))
    )
      continue;
    const flag =
      option.kind === 'boolean'
        ? `--${kebab(key)}`
        : `--${kebab(key)} <${files.has(key) ? 'file' : option.kind === 'number' ? 'n' : 'value'}>`;
    const cliOption = new Option(flag, `${option.description}${option.kind === 'list' ? ' (repeat for several)' : ''}`);
    if (reserved.has(cliOption.attributeName())) continue;
    if (option.choices) cliOption.choices(option.choices);
    if (option.kind === 'list')
      cliOption.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    if (option.required) cliOption.makeOptionMandatory();
    command.addOption(cliOption);
    flags.set(cliOption.attributeName(), { key, shape: option });
  }
  return flags;
}

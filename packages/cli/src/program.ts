import { Command, CommanderError, Option } from 'commander';
import { builtinPlugins, renderReplyText, type CommandPlugin, type Reply } from '@lab/commands';
import { looksLikePrivateKey } from '@lab/proxmox-sdk';
import { PrivateKeyGivenError } from '@lab/proxmox-sdk/errors';
import { addDbCommands } from './commands/db-commands.js';
import { addDiscordCommands } from './commands/discord-commands.js';
import { addDoctorCommand } from './commands/doctor-command.js';
import { addInitCommand } from './commands/init-command.js';
import { addServeCommand } from './commands/serve-command.js';
import { addSimCommand } from './commands/sim-command.js';
import { globals } from './global-options.js';
import { LabExit } from './lab-exit.js';
import { addPluginCommands, type PluginCall } from './plugin-commands.js';
import { runThroughRouter, type DeliverReply } from './run-through-router.js';

export type { GlobalOptions } from './global-options.js';

/** CLI-only flags some generated commands accept on top of their schema. */
function extendPluginCommand(plugin: string, subcommand: string, command: Command): void {
  if (plugin === 'lab' && subcommand === 'sync')
    command.option(
      '--once',
      'one full sync of every cluster, now (what lab sync always does; the bots run the periodic sync)',
    );
  if (plugin === 'class' && subcommand === 'export-terraform')
    command.option('--out <dir>', 'the workspace directory (default: terraform/classes/<class>)');
  if (plugin === 'myvm' && subcommand === 'connect')
    command.option('--out <dir>', 'where to write the .rdp file of a Windows VM (default: here)');
}

/** What the CLI does with a router reply instead of printing it, by `plugin subcommand`. */
const deliveries: Record<string, DeliverReply> = {
  'class export-terraform': async (reply, context) =>
    (await import('./export-terraform-command.js')).writeExportedWorkspace(reply, context),
  'people export': csvOnStdout,
  'class export': csvOnStdout,
  'lab usage': csvOnStdout,
};

/** The listings that show one page unless `--limit` or `--all` say otherwise. */
const PAGED_LISTINGS = new Set(['lab vms', 'people list']);

/** A CSV export goes to standard output as it is (`lab people export > people.csv`), nothing around it. */
function csvOnStdout(reply: Reply, context: { json: boolean }): string {
  const csv = (reply.data as { csv?: unknown } | undefined)?.csv;
  if (context.json) return JSON.stringify(reply.data ?? { text: reply.text });
  return typeof csv === 'string' ? csv.trimEnd() : renderReplyText(reply);
}

/**
 * Under `--json` a listing is never cut to a page behind a script's back: `lab vms --json` and
 * `lab people list --json` list everything unless `--limit` says otherwise (the table stops at a
 * page and says so).
 */
function unpagedForJson(call: PluginCall): PluginCall {
  const paged = PAGED_LISTINGS.has(`${call.plugin} ${call.subcommand}`);
  if (!paged || !globals(call.command).json || call.options.limit !== undefined || call.options.all !== undefined)
    return call;
  return { ...call, options: { ...call.options, all: true } };
}

/**
 * The `lab` program: the CLI's own chores (init, doctor, db, discord, serve, sim) plus one command
 * per router subcommand, generated from `plugins` (the `lab` plugin's at the top, others grouped:
 * `lab myvm start`); `lab link` is `/people link` when that plugin is there (a chat mention means
 * nothing in a shell). Errors print one line prefixed `lab:`; usage errors exit 2. `options.run`
 * replaces the router call (tests of the generated commands).
 */
export function createLabProgram(
  plugins: Iterable<CommandPlugin> = builtinPlugins,
  options: { run?: (call: PluginCall) => Promise<void> } = {},
): Command {
  const program = new Command('lab')
    .description('Proxmox Lab: classroom VMs on Proxmox VE, from a shell')
    .addOption(new Option('-c, --config <file>', 'configuration file (default: $LAB_CONFIG, else ./lab.config.json)'))
    .addOption(
      new Option(
        '--as <username>',
        'act as this lab user (default: cli.defaultUser, else you, the operator, as an admin)',
      ),
    )
    .option('--json', 'machine-readable output on stdout')
    .option('-y, --yes', 'answer yes: confirm destructive commands, accept the certificate lab init shows')
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      outputError: (text, write) =>
        write(
          `lab: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')}\n`,
        ),
    })
    .exitOverride();
  addInitCommand(program);
  addDoctorCommand(program);
  addDbCommands(program);
  addDiscordCommands(program);
  addServeCommand(program);
  addSimCommand(program);
  addPluginCommands(program, plugins, {
    run: (call) =>
      options.run
        ? options.run(unpagedForJson(call))
        : runThroughRouter(unpagedForJson(call), deliveries[`${call.plugin} ${call.subcommand}`]),
    extend: extendPluginCommand,
    aliases: { link: { plugin: 'people', subcommand: 'link' } },
  });
  return program;
}

/** Runs `lab` with `argv` (without node and the script); resolves to the exit code to set. */
export async function runLab(argv: string[], plugins?: Iterable<CommandPlugin>): Promise<number> {
  // Before commander, which would echo the key's first line as an unknown option.
  if (looksLikePrivateKey(argv.join(' '))) {
    process.stderr.write(`lab: ${new PrivateKeyGivenError().message}\n`);
    return 2;
  }
  const program = createLabProgram(plugins);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const exitCode =
      error instanceof LabExit ? error.exitCode : (error as { code?: string }).code === 'LAB_CLI_USAGE' ? 2 : 1;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lab: ${message.split('\n')[0]}\n`);
    if (error instanceof LabExit && error.details.length) process.stderr.write(`${error.details.join('\n')}\n`);
    return exitCode;
  }
}

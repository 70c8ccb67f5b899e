import { Argument, Command, CommanderError, Option } from 'commander';
import { builtinPlugins, renderProgressBar, renderReplyText, type CommandPlugin, type Reply } from '@lab/commands';
import { loadLabConfig } from './lab-config.js';
import { addPluginCommands, type PluginCall } from './plugin-commands.js';
import { operatorName } from './operator.js';
import { confirm, interactive } from './prompt.js';

/** The flags every `lab` command takes. */
export interface GlobalOptions {
  config?: string;
  as?: string;
  json?: boolean;
  yes?: boolean;
}

/**
 * A failure `lab` reports as one line on stderr (`lab: …`), then `details` (lines the reader needs,
 * such as the VMs a confirmation is about), before exiting with `exitCode`.
 */
export class LabExit extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const globals = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

/**
 * Runs one router subcommand as the caller the flags name: `--as`, else `cli.defaultUser`, else the
 * local operator (an admin, audited as `cli:<os user>`). Asks before destructive commands on a
 * terminal; elsewhere they need `--yes`.
 */
async function runThroughRouter(call: PluginCall): Promise<void> {
  const flags = globals(call.command);
  const config = loadLabConfig(flags.config);
  const { openLabRuntime } = await import('./lab-runtime.js');
  const runtime = await openLabRuntime(config);
  try {
    const as = flags.as ?? config.cli.defaultUser;
    const who = as ? { userId: as } : { userId: operatorName(), operator: true };
    const tty = Boolean(process.stderr.isTTY) && !flags.json;
    const invoke = (confirmed: boolean) =>
      runtime.router.invoke({
        platform: 'cli',
        ...who,
        command: call.plugin,
        subcommand: call.subcommand,
        options: call.options,
        confirmed,
        onProgress: (u) => {
          if (tty) process.stderr.write(`\r${renderProgressBar(u)}\x1b[K`);
        },
      });
    let reply = await invoke(flags.yes ?? false);
    if (tty) process.stderr.write('\r\x1b[K');
    if (reply.confirm && !reply.error) {
      if (flags.json || !interactive()) {
        const [first, ...rest] = reply.text.split('\n');
        throw new LabExit(`${first} Re-run with --yes to confirm.`, 1, rest);
      }
      if (!(await confirm(`${reply.text} ${reply.confirm.prompt}`))) throw new LabExit('Nothing was changed.');
      reply = await invoke(true);
      if (tty) process.stderr.write('\r\x1b[K');
    }
    // A refusal is one line on stderr; a command that ran and partly failed (a sync with a cluster
    // down, a deployment with failed clones) prints its whole report, then exits 1.
    if (reply.error && reply.data === undefined) throw new LabExit(reply.text);
    const written = reply.attachments?.length ? await writeAttachments(reply.attachments, call.command.opts<{ out?: string }>().out ?? '.') : [];
    out(flags.json ? JSON.stringify(reply.data ?? { text: reply.text }) : [renderReplyText(reply), ...written.map((f) => `wrote ${f}`)].join('\n'));
    if (reply.error) process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}

/** Writes a reply's files (an `.rdp` file from `lab myvm connect`) into `dir`; returns their paths. */
async function writeAttachments(files: NonNullable<Reply['attachments']>, dir: string): Promise<string[]> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { basename, join } = await import('node:path');
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const path = join(dir, basename(f.filename));
    writeFileSync(path, f.content);
    return path;
  });
}

/** CLI-only flags some generated commands accept on top of their schema. */
function extendPluginCommand(plugin: string, subcommand: string, command: Command): void {
  if (plugin === 'lab' && subcommand === 'sync') command.option('--once', 'one full sync of every cluster, now (what lab sync always does; the bots run the periodic sync)');
  if (plugin === 'myvm' && subcommand === 'connect') command.option('--out <dir>', 'where to write the .rdp file of a Windows VM (default: here)');
}

function addChores(program: Command): void {
  program
    .command('init')
    .description('Write lab.config.json for a cluster, pin its certificate, create the store and the first admin')
    .option('--url <url>', 'the cluster API, https://host:8006')
    .option('--token-id <id>', 'API token, USER@REALM!TOKENID (e.g. lab@pve!bot)')
    .option('--token-secret-file <file>', 'file holding the token secret (or set LAB_CLUSTER_<ID>_TOKEN_SECRET)')
    .option('--cluster <id>', 'a short name for the cluster', 'pve')
    .option('--store <url>', 'sqlite:<path> or postgres://…', 'sqlite:./lab.db')
    .option('--fingerprint <sha256>', "pin this certificate fingerprint (checked against the node's)")
    .option('--ca <file>', 'trust the CA in this PEM file instead of pinning (e.g. a copy of /etc/pve/pve-root-ca.pem)')
    .option('--admin <username>', 'the first admin person (default: your OS user name)')
    .option('--force', 'overwrite an existing configuration file')
    .action(async (options, command: Command) => {
      const { runInit } = await import('./init.js');
      await runInit({ ...options, ...globals(command) }, out);
    });

  program
    .command('doctor')
    .description('Check the installation end to end: configuration, store, clusters, TLS, PVE version, token privileges')
    .action(async (_options, command: Command) => {
      const { runDoctor, renderDoctorReport } = await import('./doctor.js');
      const flags = globals(command);
      const report = await runDoctor(flags.config);
      out(flags.json ? JSON.stringify(report) : renderDoctorReport(report));
      if (!report.ok) process.exitCode = 1;
    });

  const db = program.command('db').description('The store: migrations and imports');
  db.command('migrate')
    .description('Migrate the store to the latest schema (also done whenever it opens)')
    .action(async (_options, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const { openStore, redactStoreUrl } = await import('@lab/proxmox-store');
      await (await openStore(config.store)).close();
      out(flags.json ? JSON.stringify({ migrated: true, store: redactStoreUrl(config.store) }) : 'store is at the latest schema');
    });
  db.command('import-legacy')
    .description("Import the old bot's template tables (idempotent)")
    .requiredOption('--from <file>', 'the old SQLite database')
    .option('--cluster <id>', 'the cluster its templates are on (default: the first configured)')
    .action(async (options: { from: string; cluster?: string }, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const { openStore, importLegacyTemplates, readLegacySqlite } = await import('@lab/proxmox-store');
      const legacy = readLegacySqlite(options.from);
      const store = await openStore(config.store);
      try {
        const report = await importLegacyTemplates(store, legacy, { clusterId: options.cluster ?? config.clusters[0]!.id, now: Date.now() });
        const skipped = report.skipped.length ? `; skipped: ${report.skipped.map((s) => `${s.row} (${s.reason})`).join('; ')}` : '';
        out(flags.json ? JSON.stringify(report) : `${report.templatesCreated} templates created, ${report.mappingsAdded} node mappings added, ${report.mappingsKept} already there${skipped}`);
      } finally {
        await store.close();
      }
    });

  const discord = program.command('discord').description('The Discord application');
  discord
    .command('register')
    .description('Register the slash commands with Discord (in one guild: instantly; globally: within an hour)')
    .option('--guild <id>', 'the guild (server) id (default: discord.guildId)')
    .action(async (options: { guild?: string }, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const settings = config.discord;
      if (!settings?.token || !settings.applicationId) throw new LabExit("config key 'discord': set token (or DISCORD_TOKEN) and applicationId to register commands.");
      const [{ REST }, { registerDiscordCommands }, { openLabRuntime }] = await Promise.all([import('discord.js'), import('@lab/bot-discord'), import('./lab-runtime.js')]);
      const runtime = await openLabRuntime(config);
      try {
        const rest = new REST(settings.apiUrl ? { api: settings.apiUrl } : {}).setToken(settings.token);
        const guildId = options.guild ?? settings.guildId;
        await registerDiscordCommands({ rest, applicationId: settings.applicationId, ...(guildId ? { guildId } : {}), router: runtime.router });
        const names = [...runtime.router.plugins.keys()].map((k) => `/${k}`);
        const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
        out(flags.json ? JSON.stringify({ registered: names, guildId: guildId ?? null }) : `registered ${list} ${guildId ? `in guild ${guildId}` : 'globally (may take up to an hour to appear)'}`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('serve')
    .description('Run a bot with the sync engine, /healthz, /readyz and /metrics; SIGTERM stops it gracefully. Prints one JSON line when listening; logs JSON lines on stderr (LAB_LOG_LEVEL: debug, info, warn, error)')
    .addArgument(new Argument('<bot>', 'which front end').choices(['slack', 'discord']))
    .option('--port <n>', 'HTTP port (default: slack.port / discord.port, else 3000 for Slack and 3001 for Discord)')
    .option('--host <address>', 'bind address (default: slack.host / discord.host, else 127.0.0.1; put an HTTPS reverse proxy in front)')
    .action(async (kind: 'slack' | 'discord', options: { port?: string; host?: string }, command: Command) => {
      const config = loadLabConfig(globals(command).config);
      const [{ serveBot }, { openLabRuntime }, { LabMetrics }, { createPinoLogger, configSecrets, logLevelFrom }] = await Promise.all([import('./serve-bot.js'), import('./lab-runtime.js'), import('./ops/lab-metrics.js'), import('./ops/pino-logger.js')]);
      const logger = createPinoLogger({ level: logLevelFrom(process.env.LAB_LOG_LEVEL), secrets: configSecrets(config), bindings: { service: 'lab-serve', bot: kind } });
      const metrics = new LabMetrics();
      const runtime = await openLabRuntime(config, { runSync: true, logger, observer: metrics.observer, onCommandFinished: metrics.commandFinished });
      const served = await serveBot(runtime, kind, { metrics, ...(options.port !== undefined ? { port: Number(options.port) } : {}), ...(options.host ? { host: options.host } : {}) });
      out(JSON.stringify({ serving: kind, url: served.url }));
      const stop = () => void served.shutdown().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });

  program
    .command('sim')
    .description('Run the Proxmox VE simulator on loopback, for trying things out. Prints one JSON line: url, fingerprint, token')
    .option('--scenario <name>', 'small, school, ceph, large, or a scenario JSON file', 'small')
    .option('--port <n>', 'HTTPS port (0: any free one)', '0')
    .option('--time-scale <n>', 'run simulated durations this many times faster', '1')
    .action(async (options: { scenario: string; port: string; timeScale: string }) => {
      const { startPveSim } = await import('@lab/pve-sim');
      const sim = await startPveSim({ scenario: options.scenario, port: Number(options.port), timeScale: Number(options.timeScale) });
      out(JSON.stringify({ url: sim.url, fingerprint: sim.fingerprint, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret }));
      const stop = () => void sim.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

/** `lab class export-terraform`: an operator's chore (it writes files), beside the generated `lab class …`. */
function addTerraformExport(program: Command): void {
  const klass = program.commands.find((c) => c.name() === 'class') ?? program.command('class').description('Classes');
  klass
    .command('export-terraform')
    .description('Write a self-contained Terraform workspace (bpg/proxmox) for a class: --from plan deploys it, --from deployed adopts its VMs')
    .argument('<class>', 'class id, e.g. cs101')
    .option('--out <dir>', 'the workspace directory (default: terraform/classes/<class>)')
    .addOption(new Option('--from <source>', 'plan (default for a class with no VMs) or deployed (import blocks for every VM)').choices(['plan', 'deployed']))
    .option('--count <n>', 'with --from plan: student VMs (default: the enrolled students)')
    .option('--cluster <id>', 'the cluster (default: the class template\'s)')
    .option('--vmid-range <first-last>', 'with --from plan: pin VMIDs from this range instead of letting Proxmox choose')
    .action(async (classId: string, options: { out?: string; from?: 'plan' | 'deployed'; count?: string; cluster?: string; vmidRange?: string }, command: Command) => {
      const flags = globals(command);
      const { runExportTerraform } = await import('./export-terraform-command.js');
      const result = await runExportTerraform(loadLabConfig(flags.config), classId, options);
      out(flags.json ? JSON.stringify(result) : `wrote ${result.dir}: ${result.vms} VMs${result.imports ? `, ${result.imports} import blocks` : ''} (${result.files.join(', ')}); then: cd ${result.dir} && export PROXMOX_VE_API_TOKEN=… && terraform init && terraform plan`);
    });
}

/**
 * The `lab` program: the CLI's own chores (init, doctor, db, discord, serve, sim) plus one command
 * per router subcommand, generated from `plugins` (the `lab` plugin's at the top, others grouped:
 * `lab myvm start`); `lab link` is `/people link` when that plugin is there (a chat mention means
 * nothing in a shell). Errors print one line prefixed `lab:`; usage errors exit 2. `options.run`
 * replaces the router call (tests of the generated commands).
 */
export function createLabProgram(plugins: Iterable<CommandPlugin> = builtinPlugins, options: { run?: (call: PluginCall) => Promise<void> } = {}): Command {
  const program = new Command('lab')
    .description('Proxmox Lab: classroom VMs on Proxmox VE, from a shell')
    .addOption(new Option('-c, --config <file>', 'configuration file (default: $LAB_CONFIG, else ./lab.config.json)'))
    .addOption(new Option('--as <username>', 'act as this lab user (default: cli.defaultUser, else you, the operator, as an admin)'))
    .option('--json', 'machine-readable output on stdout')
    .option('-y, --yes', 'answer yes: confirm destructive commands, accept the certificate lab init shows')
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (text, write) => write(`lab: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`) })
    .exitOverride();
  addChores(program);
  addPluginCommands(program, plugins, { run: options.run ?? runThroughRouter, extend: extendPluginCommand, aliases: { link: { plugin: 'people', subcommand: 'link' } } });
  addTerraformExport(program);
  return program;
}

/** Runs `lab` with `argv` (without node and the script); resolves to the exit code to set. */
export async function runLab(argv: string[], plugins?: Iterable<CommandPlugin>): Promise<number> {
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
    const exitCode = error instanceof LabExit ? error.exitCode : (error as { code?: string }).code === 'LAB_CLI_USAGE' ? 2 : 1;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lab: ${message.split('\n')[0]}\n`);
    if (error instanceof LabExit && error.details.length) process.stderr.write(`${error.details.join('\n')}\n`);
    return exitCode;
  }
}

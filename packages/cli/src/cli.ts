#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isLabError } from '@lab/proxmox-sdk';
import { renderProgressBar, renderReplyText } from '@lab/commands';
import { loadLabConfig } from './lab-config.js';
import { openLabRuntime } from './lab-runtime.js';

const USAGE = `usage: lab [--config FILE] [--as USER] [--json] <command>
  lab deploy <class> <count> [template]   deploy a class (teacher/admin)
  lab status <class> | destroy <class> --yes | templates | link <user> <student> [class]
  lab myvm <start|stop|restart|status|connect> [vm]
  lab vms [--json]                        VMs you may see, from the inventory
  lab sync --once                         one full sync of every cluster
  lab db migrate                          migrate the store to the latest schema
  lab db import-legacy --from OLD.db --cluster ID   import the old template tables (idempotent)
  lab discord register [--guild ID]       register the slash commands with Discord
  lab serve <slack|discord> [--port N]    run a bot (with the sync engine; SIGTERM stops it gracefully)
  lab sim [--scenario small] [--port 0] [--time-scale 1]   run the Proxmox VE simulator`;

function fail(message: string, code = 1): never {
  process.stderr.write(`lab: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        as: { type: 'string' },
        json: { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        scenario: { type: 'string', default: 'small' },
        port: { type: 'string' },
        'time-scale': { type: 'string', default: '1' },
        guild: { type: 'string' },
        from: { type: 'string' },
        cluster: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message} (see lab --help)`, 2);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  if (command === 'sim') {
    const { startPveSim } = await import('@lab/pve-sim');
    const sim = await startPveSim({ scenario: values.scenario, port: Number(values.port ?? 0), timeScale: Number(values['time-scale']) });
    process.stdout.write(`${JSON.stringify({ url: sim.url, fingerprint: sim.fingerprint, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret })}\n`);
    const stop = () => void sim.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }

  const config = loadLabConfig(values.config);
  if (command === 'db') {
    const { openStore, importLegacyTemplates, readLegacySqlite, redactStoreUrl } = await import('@lab/proxmox-store');
    if (rest[0] === 'import-legacy') {
      if (!values.from) fail('name the old database: lab db import-legacy --from OLD.db --cluster ID', 2);
      const clusterId = values.cluster ?? config.clusters[0]!.id;
      const legacy = readLegacySqlite(values.from);
      const store = await openStore(config.store);
      try {
        const report = await importLegacyTemplates(store, legacy, { clusterId, now: Date.now() });
        process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${report.templatesCreated} templates created, ${report.mappingsAdded} node mappings added, ${report.mappingsKept} already there${report.skipped.length ? `; skipped: ${report.skipped.map((s) => `${s.row} (${s.reason})`).join('; ')}` : ''}\n`);
      } finally {
        await store.close();
      }
      return;
    }
    if (rest[0] !== 'migrate') fail(`unknown db command '${rest[0] ?? ''}'; use lab db migrate or lab db import-legacy`, 2);
    const store = await openStore(config.store);
    await store.close();
    process.stdout.write(values.json ? `${JSON.stringify({ migrated: true, store: redactStoreUrl(config.store) })}\n` : 'store is at the latest schema\n');
    return;
  }

  if (command === 'discord') {
    if (rest[0] !== 'register') fail(`unknown discord command '${rest[0] ?? ''}'; use lab discord register`, 2);
    const discord = config.discord;
    if (!discord?.token || !discord.applicationId) fail("config key 'discord': set token (or DISCORD_TOKEN) and applicationId to register commands");
    const { REST } = await import('discord.js');
    const { registerDiscordCommands } = await import('@lab/bot-discord');
    const runtime = await openLabRuntime(config);
    try {
      const rest = new REST(discord.apiUrl ? { api: discord.apiUrl } : {}).setToken(discord.token);
      const guildId = values.guild ?? discord.guildId;
      await registerDiscordCommands({ rest, applicationId: discord.applicationId, ...(guildId ? { guildId } : {}), router: runtime.router });
      process.stdout.write(`registered /lab and /myvm ${guildId ? `in guild ${guildId}` : 'globally (may take up to an hour to appear)'}\n`);
    } finally {
      await runtime.close();
    }
    return;
  }

  if (command === 'serve') {
    const kind = rest[0];
    if (kind !== 'slack' && kind !== 'discord') fail(`serve what? lab serve slack | lab serve discord`, 2);
    const { serveBot } = await import('./serve-bot.js');
    const runtime = await openLabRuntime(config, { runSync: true });
    const served = await serveBot(runtime, kind, values.port !== undefined ? { port: Number(values.port) } : {});
    process.stdout.write(`${JSON.stringify({ serving: kind, url: served.url })}\n`);
    const stop = () => void served.shutdown().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }

  const runtime = await openLabRuntime(config);
  try {
    if (command === 'sync') {
      if (!values.once) fail('lab sync runs one full sync: pass --once (the bots run the periodic sync)', 2);
      const reports = await runtime.services.sync!.triggerSync();
      process.stdout.write(values.json ? `${JSON.stringify(reports)}\n` : `${reports.map((r) => (r.ok ? `${r.clusterId}: ${r.vms} VMs, ${r.added} new, ${r.changed} changed, ${r.gone} gone` : `${r.clusterId}: FAILED ${r.error}`)).join('\n')}\n`);
      if (reports.some((r) => !r.ok)) process.exitCode = 1;
      return;
    }
    const user = values.as ?? config.cli.defaultUser;
    if (!user) fail('say who you are with --as <username> (or set cli.defaultUser in the configuration)', 2);
    if (command === 'vms') {
      const person = await runtime.store.classes.getPersonByUsername(user);
      if (!person) fail(`no lab user '${user}'`);
      const result = await runtime.services.inventory.listVms({ user: { personId: person.id, username: person.username, role: person.role } });
      if (values.json) process.stdout.write(`${JSON.stringify(result.vms)}\n`);
      else process.stdout.write(`${result.vms.map((v) => `${String(v.vmid).padEnd(6)} ${v.name.padEnd(24)} ${v.node.padEnd(8)} ${v.status}${v.ip ? `  ${v.ip}` : ''}`).join('\n')}${result.stale ? '\n(inventory may be stale)' : ''}\n`);
      return;
    }
    const isMyvm = command === 'myvm';
    const tty = process.stderr.isTTY && !values.json;
    const reply = await runtime.router.invoke({
      platform: 'cli',
      userId: user,
      command: isMyvm ? 'myvm' : 'lab',
      text: (isMyvm ? rest : [command, ...rest]).join(' '),
      confirmed: values.yes,
      onProgress: (u) => {
        if (tty) process.stderr.write(`\r${renderProgressBar(u)}\x1b[K`);
      },
    });
    if (tty) process.stderr.write('\n');
    if (reply.confirm) fail(`${reply.text} Re-run with --yes to confirm.`);
    if (reply.error) fail(reply.text);
    process.stdout.write(values.json ? `${JSON.stringify(reply.data ?? { text: reply.text })}\n` : `${renderReplyText(reply)}\n`);
  } finally {
    await runtime.close();
  }
}

main().catch((error: unknown) => fail(isLabError(error) ? error.message : error instanceof Error ? error.message : String(error)));

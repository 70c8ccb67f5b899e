import { createServer, type Server } from 'node:http';
import { Client, GatewayIntentBits, REST } from 'discord.js';
import { ConfigError, type DeploymentRecord, type DeploymentSummary } from '@lab/proxmox-sdk';
import { createSlackBot, createSlackPersonNotifier } from '@lab/bot-slack';
import { attachDiscordGatewayBot, createDiscordInteractions, createDiscordPersonNotifier, finishDiscordProgress } from '@lab/bot-discord';
import type { LabRuntime } from './lab-runtime.js';

/** A running bot process: stop it with `shutdown()` (SIGTERM does so). */
export interface ServedBot {
  url: string;
  shutdown(): Promise<void>;
}

/**
 * Runs one front end as a long-lived process: starts the sync engine unless `sync.enabled` is
 * `false` (it syncs only while it holds the store's leader lease), keeps taking over deployments whose process died — finishing each one's
 * chat progress message with its summary — serves the bot, and on shutdown stops taking requests,
 * waits for running commands, releases the leases and closes.
 * It listens on `options.host`, else `slack.host` / `discord.host`, else 127.0.0.1 (put an HTTPS
 * reverse proxy in front of it).
 */
export async function serveBot(runtime: LabRuntime, kind: 'slack' | 'discord', options: { port?: number; host?: string } = {}): Promise<ServedBot> {
  const { config, services, router, logger } = runtime;
  let listener;
  let idle: () => Promise<void>;
  let stopTransport = async (): Promise<void> => undefined;
  let finish: (deployment: DeploymentRecord, summary: DeploymentSummary) => Promise<boolean>;
  if (kind === 'slack') {
    const slack = config.slack;
    if (!slack?.signingSecret || !slack.botToken) throw new ConfigError("config key 'slack': set signingSecret and botToken (or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN)", { key: 'slack' });
    const bot = createSlackBot({ router, signingSecret: slack.signingSecret, botToken: slack.botToken, logger, ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}), ...(slack.socketMode && slack.appToken ? { socketModeAppToken: slack.appToken } : {}) });
    listener = bot.requestListener;
    idle = bot.idle;
    finish = bot.finishDeployment;
    services.scheduler?.useNotifier(createSlackPersonNotifier({ client: bot.app.client, store: services.store, logger }));
    await bot.start();
    stopTransport = bot.stop;
  } else if (config.discord?.mode === 'gateway') {
    const discord = config.discord;
    if (!discord.token) throw new ConfigError("config key 'discord.token': gateway mode needs the bot token (or DISCORD_TOKEN)", { key: 'discord.token' });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], ...(discord.apiUrl ? { rest: { api: discord.apiUrl } } : {}) });
    const bot = attachDiscordGatewayBot({ client, router, logger });
    await client.login(discord.token);
    listener = (_req: unknown, res: { writeHead: (s: number) => { end: (t: string) => void } }) => res.writeHead(404).end('gateway mode: no HTTP endpoint\n');
    idle = bot.idle;
    finish = (deployment, summary) => finishDiscordProgress({ rest: client.rest, logger }, deployment.notify, summary);
    services.scheduler?.useNotifier(createDiscordPersonNotifier({ rest: client.rest, store: services.store, logger }));
    stopTransport = async () => {
      bot.detach();
      await client.destroy();
    };
  } else {
    const discord = config.discord;
    if (!discord?.publicKey || !discord.applicationId) throw new ConfigError("config key 'discord': set applicationId and publicKey (or DISCORD_PUBLIC_KEY)", { key: 'discord' });
    const rest = new REST(discord.apiUrl ? { api: discord.apiUrl } : {});
    if (discord.token) rest.setToken(discord.token);
    const bot = createDiscordInteractions({ router, publicKey: discord.publicKey, applicationId: discord.applicationId, rest, logger });
    listener = bot.requestListener;
    idle = bot.idle;
    finish = (deployment, summary) => finishDiscordProgress({ rest, logger }, deployment.notify, summary);
    services.scheduler?.useNotifier(createDiscordPersonNotifier({ rest, store: services.store, logger }));
  }
  if (config.sync.enabled) services.sync?.start();
  else logger.info('inventory sync disabled (sync.enabled: false); this process will not sync');
  services.templateScans?.start();
  services.scheduler?.start();
  const takeover = services.engine.startTakeover({
    onFinished: async (deployment, summary) => {
      if (!(await finish(deployment, summary))) logger.info('a deployment taken over has no progress message this bot can finish', { deploymentId: deployment.id, classId: deployment.classId, status: summary.status });
    },
  });
  const server: Server = createServer(listener);
  await new Promise<void>((r) => server.listen(options.port ?? (kind === 'slack' ? config.slack?.port : config.discord?.port) ?? 3000, options.host ?? (kind === 'slack' ? config.slack?.host : config.discord?.host) ?? '127.0.0.1', () => r()));
  const address = server.address() as { port: number; address: string };
  logger.info('bot listening', { kind, port: address.port });
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      await new Promise((r) => server.close(r));
      await stopTransport();
      await idle();
      await takeover.stop();
      await runtime.close();
    })());
  return { url: `http://${address.address}:${address.port}`, shutdown };
}

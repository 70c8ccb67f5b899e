import { createServer, type Server } from 'node:http';
import { Client, GatewayIntentBits, REST } from 'discord.js';
import { ConfigError, type DeploymentRecord, type DeploymentSummary } from '@lab/proxmox-sdk';
import { createSlackBot, createSlackPersonNotifier } from '@lab/bot-slack';
import { attachDiscordGatewayBot, createDiscordInteractions, createDiscordPersonNotifier, finishDiscordProgress } from '@lab/bot-discord';
import type { LabConfig } from './lab-config.js';
import type { LabRuntime } from './lab-runtime.js';
import { LabMetrics } from './ops/lab-metrics.js';
import { createOpsEndpoints } from './ops/ops-endpoints.js';
import { createConsoleServer, type ConsoleServer } from './console/console-server.js';
import { openPveWebSocket } from './console/pve-vnc-socket.js';

/** A running bot process: stop it with `shutdown()` (SIGTERM does so). */
export interface ServedBot {
  url: string;
  /** The metrics `/metrics` renders. */
  metrics: LabMetrics;
  shutdown(): Promise<void>;
}

/** Options of {@link serveBot}. */
export interface ServeBotOptions {
  port?: number;
  host?: string;
  /**
   * The process's metrics; give the same instance's `observer` and `commandFinished` to
   * `openLabRuntime` so PVE requests, syncs and commands are counted. @defaultValue a new `LabMetrics`
   * (then only the store's gauges and process metrics have values)
   */
  metrics?: LabMetrics;
}

/**
 * Runs one front end as a long-lived process: starts the sync engine unless `sync.enabled` is
 * `false` (it syncs only while it holds the store's leader lease), keeps taking over deployments whose process died — finishing each one's
 * chat progress message with its summary — serves the bot, and on shutdown stops taking requests,
 * waits for running commands, releases the leases and closes.
 * It listens on `options.host`, else `slack.host` / `discord.host`, else 127.0.0.1 (put an HTTPS
 * reverse proxy in front of it). The same server answers `GET /healthz`, `GET /readyz` and
 * `GET /metrics` (see `createOpsEndpoints`); keep those paths off the public proxy.
 */
export async function serveBot(runtime: LabRuntime, kind: 'slack' | 'discord', options: ServeBotOptions = {}): Promise<ServedBot> {
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
  const metrics = options.metrics ?? new LabMetrics();
  const holderId = services.sync?.holderId;
  metrics.bind({ store: runtime.store, syncStats: () => services.inventory.syncStats(), ...(holderId ? { holderId } : {}) });
  const ops = createOpsEndpoints({
    metrics,
    readiness: {
      store: runtime.store,
      clusterIds: () => runtime.clusters.ids(),
      syncEnabled: config.sync.enabled,
      clusterMaxAgeMs: readinessMaxAgeMs(config),
      ...(holderId ? { holderId } : {}),
    },
    onError: (path, error) => logger.error('operations endpoint failed', { path, error }),
  });
  const bot = listener;
  const consoleServer = startConsole(runtime);
  const server: Server = createServer((req, res) => {
    if (!ops(req, res) && !consoleServer?.handleRequest(req, res)) bot(req as never, res as never);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!consoleServer?.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(options.port ?? (kind === 'slack' ? config.slack?.port : config.discord?.port) ?? (kind === 'slack' ? 3000 : 3001), options.host ?? (kind === 'slack' ? config.slack?.host : config.discord?.host) ?? '127.0.0.1', () => r()));
  const address = server.address() as { port: number; address: string };
  logger.info('bot listening', { kind, port: address.port });
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      const closed = new Promise((r) => server.close(r));
      await consoleServer?.close();
      await closed;
      await stopTransport();
      await idle();
      await takeover.stop();
      await runtime.close();
    })());
  return { url: `http://${address.address}:${address.port}`, metrics, shutdown };
}

/**
 * How old a cluster's last successful sync may be for `/readyz`: two quick-sync intervals (one
 * missed beat is not an outage), at least 30 s.
 */
export function readinessMaxAgeMs(config: LabConfig): number {
  return Math.max(30_000, 2 * (config.sync.quickIntervalMs ?? 30_000));
}

/**
 * The browser console endpoints (`/console/…`) when `console.publicUrl` is set; otherwise none,
 * and `/myvm console` tells the user an admin must set it.
 */
function startConsole(runtime: LabRuntime): ConsoleServer | undefined {
  const { config, services, logger } = runtime;
  const publicUrl = config.console?.publicUrl;
  if (!publicUrl || !services.console) {
    logger.info('browser console disabled: set console.publicUrl to serve /myvm console links');
    return undefined;
  }
  return createConsoleServer({
    store: services.store,
    clusters: services.clusters,
    grants: services.console.grants,
    clock: services.clock,
    logger,
    publicUrl,
    openPveSocket: async (clusterId, path) => openPveWebSocket(await runtime.clusters.get(clusterId).webSocketRequest(path), { clusterId, logger }),
  });
}

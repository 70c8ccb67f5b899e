import { createServer, type Server } from 'node:http';
import { ConfigError, clusterAnswerMaxAgeMs } from '@lab/proxmox-sdk';
import type { StartedFrontEnd } from '@lab/commands';
import type { LabConfig } from './lab-config.js';
import type { LabRuntime } from './lab-runtime.js';
import { chatNotifier } from './chat-notifier.js';
import { LabMetrics } from './ops/lab-metrics.js';
import { createOpsEndpoints } from './ops/ops-endpoints.js';
import { createConsoleServer, type ConsoleServer } from './console/console-server.js';
import { openPveWebSocket } from './console/pve-vnc-socket.js';
import { PortUnavailableError } from './cli-errors.js';
import { finishTakenOverDeployment } from './finish-taken-over-deployment.js';
import type { ServedKind } from './served-kind.js';
import { startWebFrontEnd } from './serve-web.js';

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
 * Runs one front end as a long-lived process: its class scheduler sends direct messages on every chat
 * platform configured (`chatNotifier`), not only the served one; starts the sync engine unless `sync.enabled` is
 * `false` (it syncs only while it holds the store's leader lease), keeps taking over deployments whose process died — finishing each one's
 * chat progress message with its summary — serves the bot, and on shutdown stops taking requests,
 * waits for running commands, releases the leases and closes.
 * It listens on `options.host`, else `slack.host` / `discord.host`, else 127.0.0.1 (put an HTTPS
 * reverse proxy in front of it). The same server answers `GET /healthz`, `GET /readyz` and
 * `GET /metrics` (see `createOpsEndpoints`); keep those paths off the public proxy.
 */
export async function serveBot(
  runtime: LabRuntime,
  kind: ServedKind,
  options: ServeBotOptions = {},
): Promise<ServedBot> {
  const { config, services } = runtime;
  const frontEnd = await startFrontEnd(runtime, kind);
  const metrics = options.metrics ?? new LabMetrics();
  const holderId = services.sync?.holderId;
  metrics.bind({
    store: runtime.store,
    syncStats: () => services.inventory.syncStats(),
    ...(holderId ? { holderId } : {}),
  });
  const ops = createOpsEndpoints({
    metrics,
    readiness: {
      store: runtime.store,
      clusterIds: () => runtime.clusters.ids(),
      syncEnabled: config.sync.enabled,
      clusterMaxAgeMs: readinessMaxAgeMs(config),
      ...(holderId ? { holderId } : {}),
    },
    onError: (path, error) => runtime.logger.error('operations endpoint failed', { path, error }),
  });
  const consoleServer = startConsole(runtime);
  const server: Server = createServer((req, res) => {
    if (!ops(req, res) && !consoleServer?.handleRequest(req, res)) frontEnd.requestListener(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!consoleServer?.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const port = options.port ?? config[kind]?.port ?? DEFAULT_PORTS[kind];
  const host = options.host ?? config[kind]?.host ?? '127.0.0.1';
  try {
    await listen(server, port, host, kind);
  } catch (error) {
    await consoleServer?.close();
    await frontEnd.stop();
    await runtime.close();
    throw error;
  }
  // Background work starts once the port is ours, so a process that cannot serve leaves no lease behind.
  services.scheduler?.useNotifier(
    await chatNotifier({ config, kind, served: frontEnd.notifier, store: services.store, logger: runtime.logger }),
  );
  if (config.sync.enabled) services.sync?.start();
  else runtime.logger.info('inventory sync disabled (sync.enabled: false); this process will not sync');
  services.templateScans?.start();
  services.scheduler?.start();
  const takeover = services.engine.startTakeover({
    onFinished: async (deployment, summary) => {
      if (!(await finishTakenOverDeployment({ frontEnd, kind, config, logger: runtime.logger }, deployment, summary)))
        runtime.logger.info('a deployment taken over has no progress message this bot can finish', {
          deploymentId: deployment.id,
          classId: deployment.classId,
          status: summary.status,
        });
    },
  });
  const address = server.address() as { port: number; address: string };
  runtime.logger.info('bot listening', { kind, port: address.port });
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      const closed = new Promise((r) => server.close(r));
      await consoleServer?.close();
      await closed;
      await frontEnd.stop();
      await frontEnd.idle();
      await takeover.stop();
      await runtime.close();
    })());
  return { url: `http://${address.address}:${address.port}`, metrics, shutdown };
}

/** The port each front end listens on unless configured. */
const DEFAULT_PORTS: Record<ServedKind, number> = { slack: 3000, discord: 3001, web: 3002 };

/** Listens on `port`; a port in use or not allowed becomes a {@link PortUnavailableError}. */
function listen(server: Server, port: number, host: string, kind: ServedKind): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL'
          ? new PortUnavailableError(kind, host, port, error.code)
          : error,
      );
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/**
 * Starts the configured front end from its bot package, after checking the configuration it needs
 * (Discord: `discord.mode` gateway, else the HTTP interactions endpoint).
 */
async function startFrontEnd(runtime: LabRuntime, kind: ServedKind): Promise<StartedFrontEnd> {
  const { config, router, logger } = runtime;
  const store = runtime.services.store;
  if (kind === 'web') return startWebFrontEnd(runtime);
  if (kind === 'slack') {
    const slack = config.slack;
    if (!slack?.signingSecret || !slack.botToken)
      throw new ConfigError(
        "config key 'slack': set signingSecret and botToken (or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN)",
        { key: 'slack' },
      );
    const { startSlackBot } = await import('@lab/bot-slack');
    return startSlackBot({
      router,
      store,
      logger,
      signingSecret: slack.signingSecret,
      botToken: slack.botToken,
      ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}),
      ...(slack.socketMode && slack.appToken ? { socketModeAppToken: slack.appToken } : {}),
    });
  }
  const discord = config.discord;
  const { startDiscordBot } = await import('@lab/bot-discord');
  const apiUrl = discord?.apiUrl ? { apiUrl: discord.apiUrl } : {};
  if (discord?.mode === 'gateway') {
    if (!discord.token)
      throw new ConfigError("config key 'discord.token': gateway mode needs the bot token (or DISCORD_TOKEN)", {
        key: 'discord.token',
      });
    return startDiscordBot({ mode: 'gateway', router, store, logger, token: discord.token, ...apiUrl });
  }
  if (!discord?.publicKey || !discord.applicationId)
    throw new ConfigError("config key 'discord': set applicationId and publicKey (or DISCORD_PUBLIC_KEY)", {
      key: 'discord',
    });
  return startDiscordBot({
    mode: 'interactions',
    router,
    store,
    logger,
    applicationId: discord.applicationId,
    publicKey: discord.publicKey,
    ...(discord.token ? { token: discord.token } : {}),
    ...apiUrl,
  });
}

/**
 * How old a cluster's last successful sync may be for `/readyz`: the SDK's `clusterAnswerMaxAgeMs`
 * of the configured quick interval, the rule `lab sync status` uses too.
 */
export function readinessMaxAgeMs(config: LabConfig): number {
  return clusterAnswerMaxAgeMs(config.sync.quickIntervalMs);
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
    openPveSocket: async (clusterId, path) =>
      openPveWebSocket(await runtime.clusters.get(clusterId).webSocketRequest(path), { clusterId, logger }),
  });
}

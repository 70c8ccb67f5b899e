import { createServer, type RequestListener, type Server } from 'node:http';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import { clusterAnswerMaxAgeMs } from '@lab/proxmox-sdk';
import type { FrontEndDefinition, FrontEndRegistry, StartedFrontEnd } from '@lab/commands';
import type { LabConfig } from './lab-config.js';
import type { LabRuntime } from './lab-runtime.js';
import { chatNotifier } from './chat-notifier.js';
import { CLASS_SCHEDULER_LEASE, LabMetrics } from './ops/lab-metrics.js';
import { createOpsEndpoints } from './ops/ops-endpoints.js';
import { createConsoleServer, type ConsoleServer } from './console/console-server.js';
import { openPveWebSocket } from './console/pve-vnc-socket.js';
import { CliUsageError, PortUnavailableError } from './cli-errors.js';
import { labFrontEnds } from './front-ends.js';
import { finishTakenOverDeployment } from './finish-taken-over-deployment.js';

/** A running bot process: stop it with `shutdown()` (SIGTERM does so). */
export interface ServedBot {
  /** The address of the first front end served. */
  url: string;
  /** Each front end served and the address it listens on, in the order given. */
  served: Array<{ kind: string; url: string }>;
  /** The metrics `/metrics` renders. */
  metrics: LabMetrics;
  shutdown(): Promise<void>;
}

/** Options of {@link serveBot}. */
export interface ServeBotOptions {
  /** The port; only with one front end (several listen on their sections' ports). */
  port?: number;
  host?: string;
  /**
   * The process's metrics; give the same instance's `observer` and `commandFinished` to
   * `openLabRuntime` so PVE requests, syncs and commands are counted. @defaultValue a new `LabMetrics`
   * (then only the store's gauges and process metrics have values)
   */
  metrics?: LabMetrics;
  /** The front ends it may serve and notify through. @defaultValue {@link labFrontEnds} */
  frontEnds?: FrontEndRegistry;
}

/** A front end this process started, and where it listens. */
interface Started {
  definition: FrontEndDefinition;
  frontEnd: StartedFrontEnd;
  host: string;
  port: number;
}

/**
 * Runs one or more front ends (`lab serve slack discord`) as one long-lived process over one runtime:
 * its class scheduler sends direct messages on every platform whose front end can (`chatNotifier`), not only
 * the served ones; starts the sync engine unless `sync.enabled` is `false` (it syncs only while it
 * holds the store's leader lease), keeps taking over deployments whose process died — finishing each
 * one's progress message with its summary through the front end that posted it — serves the front
 * ends, and on shutdown stops taking requests, waits for running commands (at most `serve.drainSeconds`,
 * then logs a warning and stops waiting), releases the leases and closes.
 * Each front end listens on `options.host`, else its section's `host`, else 127.0.0.1 (put an HTTPS
 * reverse proxy in front of it), and on `options.port` (one front end only), else its section's
 * `port`, else its default; front ends on the same address share it by path. Every address also
 * answers `GET /healthz`, `GET /readyz` and `GET /metrics` (see `createOpsEndpoints`) and the console
 * (`/console/…`); keep those paths off the public proxy.
 */
export async function serveBot(
  runtime: LabRuntime,
  kinds: string | readonly string[],
  options: ServeBotOptions = {},
): Promise<ServedBot> {
  const { config, services } = runtime;
  const registry = options.frontEnds ?? labFrontEnds;
  const started: Started[] = [];
  let definitions: FrontEndDefinition[] = [];
  try {
    definitions = servedDefinitions(registry, typeof kinds === 'string' ? [kinds] : kinds, options);
    for (const definition of definitions) {
      const address = definition.serve!.address?.(config[definition.id]) ?? {};
      started.push({
        definition,
        frontEnd: await startFrontEnd(runtime, definition),
        host: options.host ?? address.host ?? '127.0.0.1',
        port: options.port ?? address.port ?? definition.serve!.defaultPort,
      });
    }
  } catch (error) {
    for (const s of started) await s.frontEnd.stop();
    await runtime.close();
    throw error;
  }
  const metrics = options.metrics ?? new LabMetrics();
  const holderId = services.sync?.holderId;
  const leaseHolderIds = services.scheduler ? { [CLASS_SCHEDULER_LEASE]: services.scheduler.holderId } : {};
  metrics.bind({
    store: runtime.store,
    syncStats: () => services.inventory.syncStats(),
    ...(holderId ? { holderId } : {}),
    leaseHolderIds,
  });
  const ops = createOpsEndpoints({
    metrics,
    readiness: {
      store: runtime.store,
      clusterIds: () => runtime.clusters.ids(),
      syncEnabled: config.sync.enabled,
      clusterMaxAgeMs: readinessMaxAgeMs(config),
      ...(holderId ? { holderId } : {}),
      leaseHolderIds,
    },
    onError: (path, error) => runtime.logger.error('operations endpoint failed', { path, error }),
  });
  const consoleServer = startConsole(runtime);
  const servers: Array<{ server: Server; members: Started[] }> = [];
  const stopFrontEnds = async (): Promise<void> => {
    for (const s of started) await s.frontEnd.stop();
  };
  try {
    for (const members of sharedAddresses(started)) {
      const dispatch = frontEndDispatcher(members);
      const server: Server = createServer((req, res) => {
        if (!ops(req, res) && !consoleServer?.handleRequest(req, res)) dispatch(req, res);
      });
      server.on('upgrade', (req, socket, head) => {
        if (!consoleServer?.handleUpgrade(req, socket, head)) socket.destroy();
      });
      servers.push({ server, members });
      await listen(server, members[0]!.port, members[0]!.host, members[0]!.definition.id);
    }
  } catch (error) {
    await Promise.all(servers.map(({ server }) => new Promise((r) => server.close(r))));
    await consoleServer?.close();
    await stopFrontEnds();
    await runtime.close();
    throw error;
  }
  const servedById = new Map(started.map((s) => [s.definition.id, s.frontEnd]));
  // Background work starts once the ports are ours, so a process that cannot serve leaves no lease behind.
  const notifier = await chatNotifier({
    frontEnds: registry,
    config,
    served: servedById,
    services,
    logger: runtime.logger,
  });
  services.scheduler?.useNotifier(notifier);
  services.notifier = notifier;
  if (config.sync.enabled) services.sync?.start();
  else runtime.logger.info('inventory sync disabled (sync.enabled: false); this process will not sync');
  services.templateScans?.start();
  services.scheduler?.start();
  // The directory sync never affects readiness: an outage leaves the lab on its last known roster.
  if (config.directory?.ldap && config.directory.scheduled) services.directory?.start();
  const takeover = services.engine.startTakeover({
    onFinished: async (deployment, summary) => {
      const finished = await finishTakenOverDeployment(
        { served: servedById, frontEnds: registry, config, logger: runtime.logger },
        deployment,
        summary,
      );
      if (!finished)
        runtime.logger.info('a deployment taken over has no progress message this bot can finish', {
          deploymentId: deployment.id,
          classId: deployment.classId,
          status: summary.status,
        });
    },
  });
  const served = servers.flatMap(({ server, members }) => {
    const address = server.address() as { port: number; address: string };
    for (const m of members) runtime.logger.info('bot listening', { kind: m.definition.id, port: address.port });
    return members.map((m) => ({ kind: m.definition.id, url: `http://${address.address}:${address.port}` }));
  });
  served.sort((a, b) => definitions.findIndex((d) => d.id === a.kind) - definitions.findIndex((d) => d.id === b.kind));
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      const closed = Promise.all(servers.map(({ server }) => new Promise((r) => server.close(r))));
      await consoleServer?.close();
      await closed;
      await stopFrontEnds();
      await drain(started, config.serve.drainSeconds, runtime.logger);
      await takeover.stop();
      await runtime.close();
    })());
  return { url: served[0]!.url, served, metrics, shutdown };
}

/**
 * Waits for the commands each front end is running, at most `drainSeconds`; then warns how many
 * were still running and on which front ends, and returns so the leases are released at once.
 */
async function drain(started: readonly Started[], drainSeconds: number, logger: LabRuntime['logger']): Promise<void> {
  const busy = new Set(started);
  const idle = Promise.all(started.map((s) => s.frontEnd.idle().then(() => busy.delete(s))));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>(
    (resolve) => (timer = setTimeout(() => resolve('deadline'), drainSeconds * 1000)),
  );
  try {
    if ((await Promise.race([idle, deadline])) !== 'deadline') return;
  } finally {
    clearTimeout(timer);
  }
  const stillBusy = [...busy];
  logger.warn('shutdown drain deadline passed; not waiting for commands still running', {
    drainSeconds,
    runningCommands: stillBusy.reduce((sum, s) => sum + (s.frontEnd.running?.() ?? 0), 0),
    frontEnds: stillBusy.map((s) => s.definition.id),
  });
}

/** The registered front ends `kinds` name, each once; one that `lab serve` cannot run is a usage error. */
function servedDefinitions(
  registry: FrontEndRegistry,
  kinds: readonly string[],
  options: ServeBotOptions,
): FrontEndDefinition[] {
  const servable = registry.servableIds();
  if (kinds.length === 0) throw new CliUsageError(`name a front end to serve: lab serve ${servable.join('|')}`);
  const definitions = [...new Set(kinds)].map((kind) => registry.require(kind));
  const notServable = definitions.find((d) => !d.serve);
  if (notServable)
    throw new CliUsageError(`${notServable.label} is not served by lab serve; serve ${servable.join(', ')}`);
  if (options.port !== undefined && definitions.length > 1)
    throw new CliUsageError(
      `--port names one port but ${definitions.map((d) => d.id).join(' and ')} are served; set ${definitions.map((d) => `${d.id}.port`).join(' and ')} in lab.config.json instead`,
    );
  return definitions;
}

/** Front ends grouped by the address they listen on; each port-0 (any free port) front end gets its own. */
function sharedAddresses(started: readonly Started[]): Started[][] {
  const groups = new Map<string, Started[]>();
  started.forEach((s, i) => {
    const key = s.port === 0 ? `any#${i}` : `${s.host}:${s.port}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  });
  return [...groups.values()];
}

/**
 * The request listener of front ends sharing one address: a request goes to the front end whose
 * `paths` it starts with, else to the one that answers every path; at most one may. A front end alone
 * on its address gets every request, as it always has.
 */
function frontEndDispatcher(members: readonly Started[]): RequestListener {
  if (members.length === 1) return members[0]!.frontEnd.requestListener;
  const catchAll = members.filter((m) => m.frontEnd.paths === undefined);
  if (catchAll.length > 1) {
    const [first, second] = catchAll;
    throw new ConfigError(
      `${first!.definition.label} and ${second!.definition.label} both answer every path on ${first!.host}:${first!.port}; give one its own port (${second!.definition.id}.port in lab.config.json)`,
      { key: `${second!.definition.id}.port` },
    );
  }
  return (req, res) => {
    const path = req.url ?? '/';
    const owner = members.find((m) => m.frontEnd.paths?.some((prefix) => path.startsWith(prefix))) ?? catchAll[0];
    if (owner) owner.frontEnd.requestListener(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}

/** Listens on `port`; a port in use or not allowed becomes a {@link PortUnavailableError}. */
function listen(server: Server, port: number, host: string, kind: string): Promise<void> {
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

/** Starts a front end with its section of lab.config.json, the process's router and services. */
function startFrontEnd(runtime: LabRuntime, definition: FrontEndDefinition): Promise<StartedFrontEnd> {
  const { config, router, services, logger } = runtime;
  return definition.serve!.start({ config: config[definition.id], router, services, logger, labConfig: config });
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

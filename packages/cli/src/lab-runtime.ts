import { Clusters, GroupMapping, LdapDirectory, createLogger, type LabObserver, type Logger } from '@lab/proxmox-sdk';
import { ClassNetworks } from '@lab/proxmox-sdk/network';
import { openStore, type KyselyStore } from '@lab/proxmox-store';
import {
  CommandRouter,
  builtinPlugins,
  createLabServices,
  type CommandRecord,
  type FrontEndRegistry,
  type LabServices,
} from '@lab/commands';
import type { LabConfig } from './lab-config.js';
import { labFrontEnds } from './front-ends.js';
import { chatNotifier, lazyNotifier } from './chat-notifier.js';

/** Everything a front end process runs on, opened from the configuration. */
export interface LabRuntime {
  config: LabConfig;
  store: KyselyStore;
  clusters: Clusters;
  services: LabServices;
  router: CommandRouter;
  logger: Logger;
  close(): Promise<void>;
}

/** Options of {@link openLabRuntime}. */
export interface LabRuntimeOptions {
  /** @defaultValue the SDK's JSON-lines logger at `warn` */
  logger?: Logger;
  /** Run the sync engine's loop (`lab serve`); otherwise one can be triggered (`lab sync`). */
  runSync?: boolean;
  /** Told of every PVE request and cluster sync (`LabMetrics.observer` in `lab serve`). */
  observer?: LabObserver;
  /** Told of every finished command (`LabMetrics.commandFinished` in `lab serve`). */
  onCommandFinished?: (record: CommandRecord) => void;
  /** The front ends whose accounts commands accept (give `serveBot` the same). @defaultValue {@link labFrontEnds} */
  frontEnds?: FrontEndRegistry;
}

/** Opens the store and clusters of `config` and wires the command layer over them. */
export async function openLabRuntime(config: LabConfig, options: LabRuntimeOptions = {}): Promise<LabRuntime> {
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const store = await openStore(config.store);
  const clusters = new Clusters(config.clusters, {
    logger,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  // The client's origin, never the configured text: no credentials or path can reach the store.
  for (const c of config.clusters)
    await store.clusters.upsert({ id: c.id, name: c.id, url: clusters.get(c.id).baseUrl });
  // One ClassNetworks per cluster when `sdn` is configured (its settings are checked as it is built).
  const sdn = config.sdn;
  const networks = new Map(
    sdn
      ? config.clusters.map((c) => [c.id, new ClassNetworks({ store, api: clusters.get(c.id), settings: sdn, logger })])
      : [],
  );
  const services = createLabServices({
    store,
    clusters,
    logger,
    ...(networks.size ? { networks: (clusterId: string) => networks.get(clusterId) } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    limits: config.deploy,
    timezone: config.timezone,
    termGraceDays: config.endOfTerm.graceDays,
    ...(config.costs ? { costs: config.costs } : {}),
    auditRetentionDays: config.audit.retentionDays,
    ...(config.directory
      ? {
          directory: {
            mapping: new GroupMapping(config.directory.groups),
            maxUnenrolShare: config.directory.maxUnenrolShare,
            intervalMs: config.directory.intervalMs,
            ...(config.directory.ldap ? { source: new LdapDirectory({ config: config.directory.ldap, logger }) } : {}),
          },
        }
      : {}),
    ...(config.console
      ? {
          console: {
            ...(config.console.publicUrl ? { publicUrl: config.console.publicUrl } : {}),
            linkTtlMs: config.console.linkTtlSeconds * 1000,
            sessionMaxMs: config.console.sessionMinutes * 60_000,
            limits: {
              perPerson: config.console.maxSessionsPerPerson,
              perVm: config.console.maxSessionsPerVm,
              perNode: config.console.maxSessionsPerNode,
              linksPerMinute: config.console.linksPerMinute,
            },
          },
        }
      : {}),
    identityFormats: (options.frontEnds ?? labFrontEnds).identityFormats(),
    // Every process knows the configured intervals, so `lab sync status` judges staleness as `/readyz` does.
    sync: {
      ...(config.sync.fullIntervalMs ? { fullIntervalMs: config.sync.fullIntervalMs } : {}),
      ...(config.sync.quickIntervalMs ? { quickIntervalMs: config.sync.quickIntervalMs } : {}),
    },
  });
  const frontEnds = options.frontEnds ?? labFrontEnds;
  services.notifier = lazyNotifier(() => chatNotifier({ frontEnds, config, served: new Map(), services, logger }));
  const router = new CommandRouter(
    services,
    builtinPlugins,
    options.onCommandFinished ? { onCommandFinished: options.onCommandFinished } : {},
  );
  return {
    config,
    store,
    clusters,
    services,
    router,
    logger,
    async close() {
      await services.directory?.stop();
      await services.scheduler?.stop();
      await services.templateScans?.stop();
      await services.sync?.stop();
      await clusters.close();
      await store.close();
    },
  };
}

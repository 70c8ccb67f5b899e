import {
  ClassScheduler,
  ConsoleGrants,
  DeploymentEngine,
  DirectoryService,
  InventoryService,
  SyncEngine,
  TemplateCatalog,
  TemplateScanSchedule,
  VmPower,
  VmSnapshots,
  GuestPasswords,
  silentLogger,
  systemClock,
  type Clock,
  type CostRates,
  type ClusterApis,
  type DeploymentLimits,
  type DirectoryServiceOptions,
  type IdentityFormat,
  type LabObserver,
  type Logger,
  type ConsoleLimits,
  type PersonNotifier,
  type PortProbe,
  type Store,
} from '@lab/proxmox-sdk';
import type { ClassNetworksOf } from '@lab/proxmox-sdk/network';
import type { LabServices } from './command-plugin.js';

/** What `createLabServices` needs. */
export interface LabServicesOptions {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
  logger?: Logger;
  /** Told of every cluster sync, for metrics (give the same observer to `Clusters` for PVE requests). */
  observer?: LabObserver;
  /** Run a sync engine in this process (it syncs only while it holds the leader lease). */
  sync?: boolean | { fullIntervalMs?: number; quickIntervalMs?: number; probe?: PortProbe };
  /** With `sync`: how often the leader scans the clusters' template VMs. @defaultValue 1800000 (30 min) */
  templateScanIntervalMs?: number;
  pollIntervalMs?: number;
  /** With `sync`: direct messages of the class scheduler (idle warnings); the bots give theirs. */
  notifier?: PersonNotifier;
  /** With `sync`: how often the class scheduler looks for sessions to start or end. @defaultValue 30000 */
  scheduleTickMs?: number;
  /** Clone concurrency limits of deployments (defaults: 8 in all, 3 per node, 2 per storage). */
  limits?: Partial<DeploymentLimits>;
  /** Browser console links: the public URL of the bot's HTTP server, how long a link may wait and a session may last. */
  console?: { publicUrl?: string; linkTtlMs?: number; sessionMaxMs?: number; limits?: Partial<ConsoleLimits> };
  /** The lab-wide time zone (IANA name): the default of new schedules. @defaultValue UTC */
  timezone?: string;
  /** Days a class's VMs are kept after its end date, for a class that sets none (`endOfTerm.graceDays`). @defaultValue 14 */
  termGraceDays?: number;
  /** The school directory: its group mapping and, optionally, the source the sync reads (`LdapDirectory`). */
  directory?: Omit<DirectoryServiceOptions, 'store' | 'clock' | 'logger'>;
  /** The registered front ends' identity formats (`FrontEndRegistry.identityFormats()`). @defaultValue Slack's and Discord's */
  identityFormats?: readonly IdentityFormat[];
  /** Rates of the cost estimate in `/lab usage` (`costs` in lab.config.json). */
  costs?: CostRates;
  /** With `sync`: days the audit log keeps entries; the class scheduler prunes older ones daily. @defaultValue 400 */
  auditRetentionDays?: number;
  /**
   * Each cluster's class networks (`ClassNetworks`), when `sdn` is configured: `/lab deploy` builds
   * the private networks a class's lab definition asks for before its VMs, `/lab destroy` and the
   * end-of-term destroy remove them after. Undefined for a cluster without them.
   */
  networks?: ClassNetworksOf;
}

/** Wires the SDK services a command layer runs on, from a store and clusters. */
export function createLabServices(options: LabServicesOptions): LabServices {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { store, clusters } = options;
  const catalog = new TemplateCatalog({ store, clusters, clock });
  const syncOptions = typeof options.sync === 'object' ? options.sync : {};
  const sync = options.sync
    ? new SyncEngine({
        store,
        clusters,
        clock,
        logger,
        ...(options.observer ? { observer: options.observer } : {}),
        ...syncOptions,
      })
    : undefined;
  return {
    store,
    clusters,
    catalog,
    engine: new DeploymentEngine({
      store,
      clusters,
      catalog,
      clock,
      logger,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.networks ? { networks: options.networks } : {}),
    }),
    ...(options.networks ? { networks: options.networks } : {}),
    inventory: new InventoryService({ store, clusterIds: () => clusters.ids(), clock, ...(sync ? { sync } : {}) }),
    power: new VmPower({
      store,
      clusters,
      clock,
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    }),
    snapshots: new VmSnapshots({
      store,
      clusters,
      clock,
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    }),
    passwords: new GuestPasswords({ store, clusters, clock }),
    ...(sync
      ? {
          scheduler: new ClassScheduler({
            store,
            clusters,
            clock,
            logger,
            ...(options.scheduleTickMs ? { tickMs: options.scheduleTickMs } : {}),
            ...(options.notifier ? { notifier: options.notifier } : {}),
            ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
            ...(options.auditRetentionDays ? { auditRetentionDays: options.auditRetentionDays } : {}),
            ...(options.networks ? { networks: options.networks } : {}),
          }),
        }
      : {}),
    ...(sync
      ? {
          sync,
          templateScans: new TemplateScanSchedule({
            store,
            clusters,
            clock,
            logger,
            isLeader: () => sync.isLeader,
            ...(options.templateScanIntervalMs ? { intervalMs: options.templateScanIntervalMs } : {}),
          }),
        }
      : {}),
    ...(options.directory ? { directory: new DirectoryService({ store, clock, logger, ...options.directory }) } : {}),
    clock,
    logger,
    defaultClusterId: clusters.ids()[0] ?? 'default',
    console: {
      grants: new ConsoleGrants({
        store,
        clock,
        ...(options.console?.linkTtlMs ? { linkTtlMs: options.console.linkTtlMs } : {}),
        ...(options.console?.sessionMaxMs ? { sessionMaxMs: options.console.sessionMaxMs } : {}),
        ...(options.console?.limits ? { limits: options.console.limits } : {}),
      }),
      ...(options.console?.publicUrl ? { publicUrl: options.console.publicUrl } : {}),
    },
    ...(options.timezone ? { timezone: options.timezone } : {}),
    ...(options.termGraceDays !== undefined ? { termGraceDays: options.termGraceDays } : {}),
    ...(options.identityFormats ? { identityFormats: options.identityFormats } : {}),
    ...(options.costs ? { costs: options.costs } : {}),
  };
}

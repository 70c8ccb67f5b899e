import { leaseHolderId } from '../store/lease-heartbeat.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { notifyObserver, type ClusterSyncReport, type LabObserver } from '../ports/lab-observer.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { createTcpPortProbe, type PortProbe } from '../ports/port-probe.js';
import type { SyncStateRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { listVmResources } from '../templates/template-inventory.js';
import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { scrub } from '../util/redact.js';
import { assertTimerMs } from '../util/timer-limit.js';
import { adoptTaggedVms } from './adopt-tagged-vms.js';
import { confirmEmptyCluster } from './empty-cluster-check.js';
import { diffResource, isStoredGone, isWhole, storeInventory } from './inventory-diff.js';
import { rowsToCompare } from './rows-to-compare.js';
import { SyncScheduler } from './sync-scheduler.js';
import { DEFAULT_QUICK_INTERVAL_MS, DEFAULT_SYNC_LEASE_TTL_MS } from './sync-timing.js';
import { VmDetailFetcher } from './vm-detail-fetch.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** Settings of the sync engine; every one has a default. */
export interface SyncEngineOptions {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
  logger?: Logger;
  /** Told of every cluster sync (kind, duration, VM count, outcome), for metrics. */
  observer?: LabObserver;
  probe?: PortProbe;
  /** Who this process is in the leader lease. @defaultValue `hostname:pid:random` */
  holderId?: string;
  /** @defaultValue 300000 */
  fullIntervalMs?: number;
  /** @defaultValue 30000 */
  quickIntervalMs?: number;
  /** How long the leader lease outlives the leader's last heartbeat (renewed every third of it). @defaultValue 30000 */
  leaseTtlMs?: number;
  /**
   * Clusters synced at the same time. Each sync holds its cluster's whole listing and inventory in
   * memory, so this bounds the process's peak; a cluster that hangs holds one place until its
   * requests time out while the others go on in the rest. @defaultValue 3
   */
  clustersAtOnce?: number;
  /** Guest-agent and config requests in flight per cluster. @defaultValue 8 */
  detailConcurrency?: number;
  /** TCP probes in flight. @defaultValue 16 */
  probeConcurrency?: number;
  /** @defaultValue 800 */
  probeTimeoutMs?: number;
  /** Re-ask the guest agent for a running VM's IP after this long. @defaultValue 600000 */
  ipMaxAgeMs?: number;
  /** First delay after a cluster fails; doubles per failure. @defaultValue 5000 */
  backoffBaseMs?: number;
  /** @defaultValue 300000 */
  backoffMaxMs?: number;
}

const truncate = (text: string, max = 300): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * Keeps the VM inventory fresh. A full sync (every 5 min) and a quick sync (every 30 s) each cost
 * one `cluster.vms()` call per cluster; details are fetched only where needed: config
 * for new or changed VMs, the guest agent for running VMs whose IP is unknown or stale, TCP probes
 * for VMs whose address changed or whose probe is old. One transaction per cluster. A failing
 * cluster backs off exponentially without stopping the others; per-VM errors are stored on the VM.
 * With `start()`, only the holder of the store's leader lease syncs.
 */
export class SyncEngine {
  readonly holderId: string;
  readonly #o: Required<Omit<SyncEngineOptions, 'holderId' | 'logger' | 'clock' | 'probe' | 'observer'>>;
  readonly #observer: LabObserver | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #details: VmDetailFetcher;
  readonly #clusterLocks = new Map<string, ConcurrencyLimiter>();
  readonly #clustersAtOnce: ConcurrencyLimiter;
  readonly #scheduler: SyncScheduler;

  constructor(options: SyncEngineOptions) {
    checkOptions('new SyncEngine', options, STORE_AND_CLUSTERS, PORT_HINTS);
    this.holderId = options.holderId ?? leaseHolderId();
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'sync' });
    this.#observer = options.observer;
    this.#o = {
      store: options.store,
      clusters: options.clusters,
      fullIntervalMs: options.fullIntervalMs ?? SDK_DEFAULTS.sync.fullIntervalMs,
      quickIntervalMs: options.quickIntervalMs ?? DEFAULT_QUICK_INTERVAL_MS,
      leaseTtlMs: options.leaseTtlMs ?? DEFAULT_SYNC_LEASE_TTL_MS,
      clustersAtOnce: options.clustersAtOnce ?? SDK_DEFAULTS.sync.clustersAtOnce,
      detailConcurrency: options.detailConcurrency ?? SDK_DEFAULTS.sync.detailConcurrency,
      probeConcurrency: options.probeConcurrency ?? SDK_DEFAULTS.sync.probeConcurrency,
      probeTimeoutMs: options.probeTimeoutMs ?? SDK_DEFAULTS.sync.probeTimeoutMs,
      ipMaxAgeMs: options.ipMaxAgeMs ?? SDK_DEFAULTS.sync.ipMaxAgeMs,
      backoffBaseMs: options.backoffBaseMs ?? SDK_DEFAULTS.sync.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs ?? SDK_DEFAULTS.sync.backoffMaxMs,
    };
    this.#clustersAtOnce = new ConcurrencyLimiter(this.#o.clustersAtOnce);
    for (const key of ['fullIntervalMs', 'quickIntervalMs', 'leaseTtlMs', 'probeTimeoutMs'] as const)
      assertTimerMs(this.#o[key], `sync ${key}`);
    this.#details = new VmDetailFetcher({
      probe: options.probe ?? createTcpPortProbe(),
      detailConcurrency: this.#o.detailConcurrency,
      probeConcurrency: this.#o.probeConcurrency,
      probeTimeoutMs: this.#o.probeTimeoutMs,
      ipMaxAgeMs: this.#o.ipMaxAgeMs,
    });
    this.#scheduler = new SyncScheduler({
      store: this.#o.store,
      clock: this.#clock,
      logger: this.#logger,
      holderId: this.holderId,
      fullIntervalMs: this.#o.fullIntervalMs,
      quickIntervalMs: this.#o.quickIntervalMs,
      leaseTtlMs: this.#o.leaseTtlMs,
      clusterIds: () => this.#o.clusters.ids(),
      sync: (clusterId, kind) => (kind === 'full' ? this.fullSync({ clusterId }) : this.quickSync({ clusterId })),
    });
  }

  /** Whether this engine holds the leader lease (as of its last attempt). */
  get isLeader(): boolean {
    return this.#scheduler.isLeader;
  }

  /** Whether the background loop runs. */
  get isRunning(): boolean {
    return this.#scheduler.isRunning;
  }

  /** The full and quick intervals and the leader lease's TTL, for staleness checks. */
  get intervals(): { fullMs: number; quickMs: number; leaseTtlMs: number } {
    return { fullMs: this.#o.fullIntervalMs, quickMs: this.#o.quickIntervalMs, leaseTtlMs: this.#o.leaseTtlMs };
  }

  /** Full sync of every cluster (or one); clusters in backoff are skipped unless `force`. */
  fullSync(options: { clusterId?: string; force?: boolean } = {}): Promise<ClusterSyncReport[]> {
    return this.#each(options, 'full');
  }

  /** Quick sync (status, uptime, usage) of every cluster (or one). */
  quickSync(options: { clusterId?: string; force?: boolean } = {}): Promise<ClusterSyncReport[]> {
    return this.#each(options, 'quick');
  }

  /**
   * Reads one VM again now — its config, guest-agent address and SSH/RDP probes — in a sync of its
   * cluster that reads details only where they are due and for this VM, backoff ignored
   * (`/myvm connect`: readiness as of this moment).
   */
  refreshVm(clusterId: string, vmid: number): Promise<ClusterSyncReport[]> {
    this.#details.refresh(clusterId, vmid);
    return this.fullSync({ clusterId, force: true });
  }

  /** An admin's "sync now": a full sync of every cluster, backoff ignored. */
  triggerSync(): Promise<ClusterSyncReport[]> {
    return this.fullSync({ force: true });
  }

  async #each(options: { clusterId?: string; force?: boolean }, kind: 'full' | 'quick'): Promise<ClusterSyncReport[]> {
    const ids = options.clusterId ? [options.clusterId] : this.#o.clusters.ids();
    // Clusters are independent: one that hangs or fails never holds up the others.
    return Promise.all(
      ids.map(async (id) => {
        const report = await this.#lock(id).run(() =>
          this.#clustersAtOnce.run(() => this.#syncCluster(id, kind, options.force ?? false)),
        );
        notifyObserver(this.#observer, 'syncFinished', report);
        return report;
      }),
    );
  }

  #lock(clusterId: string): ConcurrencyLimiter {
    let lock = this.#clusterLocks.get(clusterId);
    if (!lock) {
      lock = new ConcurrencyLimiter(1);
      this.#clusterLocks.set(clusterId, lock);
    }
    return lock;
  }

  async #syncCluster(clusterId: string, kind: 'full' | 'quick', force: boolean): Promise<ClusterSyncReport> {
    const started = this.#clock.now();
    const store = this.#o.store;
    const state: SyncStateRecord = (await store.sync.getState(clusterId)) ?? {
      clusterId,
      lastFullSyncAt: null,
      lastQuickSyncAt: null,
      lastSuccessAt: null,
      consecutiveErrors: 0,
      lastError: null,
      nextAttemptAt: null,
    };
    const report: ClusterSyncReport = {
      clusterId,
      kind,
      ok: true,
      vms: 0,
      added: 0,
      changed: 0,
      gone: 0,
      configRequests: 0,
      agentRequests: 0,
      probes: 0,
      durationMs: 0,
    };
    if (!force && state.nextAttemptAt !== null && started < state.nextAttemptAt)
      return { ...report, ok: false, skipped: 'backoff', error: state.lastError ?? undefined };
    try {
      const api = this.#o.clusters.get(clusterId);
      const resources = (await listVmResources(api)).filter((r) => r.type === 'qemu' || r.type === 'lxc');
      const now = this.#clock.now();
      const { existing, diffs, unkeyed } = await rowsToCompare(store, clusterId, resources, {
        kind,
        now,
        detailsDue: (vmid) => this.#details.isDue(clusterId, vmid),
      });
      let known = 0;
      for (const r of existing.values()) if (!isStoredGone(r)) known++;
      if (resources.length === 0 && known > 0)
        await confirmEmptyCluster(
          api,
          { clusterId, known },
          { logger: this.#logger, concurrency: this.#o.detailConcurrency },
        );
      const rows = resources.map((r) => {
        const prev = existing.get(r.vmid);
        const diff = diffs.get(r.vmid) ?? diffResource(clusterId, isWhole(prev) ? prev : undefined, r, now);
        if (diff.change === 'added') report.added++;
        else if (diff.change === 'changed') report.changed++;
        this.#details.mark(clusterId, r.vmid, { config: diff.readConfig, agent: diff.readAgent });
        return diff.row;
      });
      const probed =
        kind === 'full' ? await this.#details.fetch(api, clusterId, rows, existing, now, report) : new Set<number>();
      await this.#details.probeStarting(rows, report, probed);
      await store.transaction(async (tx) => {
        report.gone = await storeInventory(tx, clusterId, rows, existing, now, unkeyed);
        await tx.sync.saveState({
          ...state,
          ...(kind === 'full' ? { lastFullSyncAt: now } : {}),
          lastQuickSyncAt: now,
          lastSuccessAt: now,
          consecutiveErrors: 0,
          lastError: null,
          nextAttemptAt: null,
        });
      });
      report.vms = rows.length;
      report.adopted = await adoptTaggedVms(store, clusterId, rows, now);
    } catch (error) {
      const message = truncate(scrub(error instanceof Error ? error.message : String(error), []));
      const errors = state.consecutiveErrors + 1;
      const delay = Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** (errors - 1));
      await store.sync.saveState({
        ...state,
        consecutiveErrors: errors,
        lastError: message,
        nextAttemptAt: this.#clock.now() + delay,
      });
      this.#logger.warn('cluster sync failed; backing off', {
        clusterId,
        kind,
        consecutiveErrors: errors,
        retryInMs: delay,
        error: message,
      });
      return { ...report, ok: false, error: message, durationMs: this.#clock.now() - started };
    }
    report.durationMs = this.#clock.now() - started;
    this.#logger.debug('cluster synced', { ...report });
    return report;
  }

  /** Runs the loop: take or renew the lease; if held, run the syncs that are due. */
  start(): void {
    this.#scheduler.start();
  }

  /** Stops the loop and gives the lease up so another process takes over at once. */
  stop(): Promise<void> {
    return this.#scheduler.stop();
  }

  /** Stops the loop without releasing the lease, as a crashed process would (for tests). */
  abandon(): Promise<void> {
    return this.#scheduler.abandon();
  }
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterSyncReport, LabObserver, PveRequestRecord, Store, SyncStats } from '@lab/proxmox-sdk';
import type { CommandRecord } from '@lab/commands';

/** The lease whose holder runs the inventory sync (see `SyncEngine`). */
export const SYNC_LEADER_LEASE = 'sync-leader';
/** The lease whose holder runs the class scheduler: sessions, idle and quota stops, and their DMs. */
export const CLASS_SCHEDULER_LEASE = 'class-scheduler';
/** The leases one `lab serve` process of a school holds at a time, reported by `/readyz` and `/metrics`. */
export const PROCESS_LEASES = [SYNC_LEADER_LEASE, CLASS_SCHEDULER_LEASE] as const;

/** What the scrape-time gauges read: the store, the inventory's stats and this process's sync identity. */
export interface MetricsSources {
  store: Store;
  syncStats(): Promise<SyncStats>;
  /** This process's holder id in the sync lease, when it runs a sync engine. */
  holderId?: string;
  /** This process's holder id in other leases of {@link PROCESS_LEASES} (the class scheduler's). */
  leaseHolderIds?: Partial<Record<string, string>>;
}

/** This process's holder id in each lease it may hold. */
export function holderIdsOf(sources: {
  holderId?: string;
  leaseHolderIds?: Partial<Record<string, string>>;
}): Partial<Record<string, string>> {
  return { ...(sources.holderId ? { [SYNC_LEADER_LEASE]: sources.holderId } : {}), ...sources.leaseHolderIds };
}

/**
 * The Prometheus metrics of one `lab serve` process, on a registry of its own (never prom-client's
 * global one, so several runtimes in one process do not collide). Hand {@link LabMetrics.observer}
 * to `Clusters` and `createLabServices`, {@link LabMetrics.commandFinished} to the `CommandRouter`,
 * and serve {@link LabMetrics.render} at `/metrics`.
 *
 * Counters and histograms are fed as things happen; gauges of the store (VM counts, deployments and
 * items in flight, the lease holder) are read at scrape time, so every process of a school reports
 * the same shared truth.
 */
export class LabMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #pveDuration: Histogram<'cluster' | 'method' | 'endpoint'>;
  readonly #pveErrors: Counter<'cluster' | 'method' | 'endpoint' | 'code'>;
  readonly #syncDuration: Histogram<'cluster' | 'kind' | 'outcome'>;
  readonly #syncVms: Gauge<'cluster'>;
  readonly #inventory: Gauge<'state'>;
  readonly #syncErrors: Gauge<'cluster'>;
  readonly #syncAge: Gauge<'cluster'>;
  readonly #deployments: Gauge;
  readonly #items: Gauge<'status'>;
  readonly #commandDuration: Histogram<'command' | 'platform' | 'outcome'>;
  readonly #leaseHolder: Gauge<'lease' | 'holder'>;
  readonly #leaseHeld: Gauge<'lease'>;
  #sources: MetricsSources | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'lab_' });
    this.#pveDuration = new Histogram({
      name: 'lab_pve_request_duration_seconds',
      help: 'PVE API request latency per cluster, method and endpoint template (every attempt, retries included)',
      labelNames: ['cluster', 'method', 'endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#pveErrors = new Counter({
      name: 'lab_pve_request_errors_total',
      help: 'PVE API requests that failed: code is the HTTP status (4xx/5xx) or the error code when no answer came (LAB_PVE_TIMEOUT, LAB_PVE_CONNECTION)',
      labelNames: ['cluster', 'method', 'endpoint', 'code'],
      registers,
    });
    this.#syncDuration = new Histogram({
      name: 'lab_sync_duration_seconds',
      help: 'Duration of one cluster sync by kind (full, quick) and outcome (ok, failed, skipped)',
      labelNames: ['cluster', 'kind', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.#syncVms = new Gauge({
      name: 'lab_sync_vms',
      help: 'VMs the last successful sync of this process found per cluster',
      labelNames: ['cluster'],
      registers,
    });
    this.#inventory = new Gauge({
      name: 'lab_inventory_vms',
      help: 'VMs in the shared inventory by state: total, fresh, errored (a sync error on the VM), running',
      labelNames: ['state'],
      registers,
    });
    this.#syncErrors = new Gauge({
      name: 'lab_sync_consecutive_errors',
      help: 'Failed syncs in a row per cluster (0 when the last one succeeded)',
      labelNames: ['cluster'],
      registers,
    });
    this.#syncAge = new Gauge({
      name: 'lab_sync_last_success_timestamp_seconds',
      help: 'When each cluster last answered a sync (Unix time; absent when never)',
      labelNames: ['cluster'],
      registers,
    });
    this.#deployments = new Gauge({
      name: 'lab_deployments_in_flight',
      help: 'Deployments planned or running in the shared store',
      registers,
    });
    this.#items = new Gauge({
      name: 'lab_deployment_items_in_flight',
      help: 'Items of unfinished deployments not yet done, by status (pending, cloning, verifying)',
      labelNames: ['status'],
      registers,
    });
    this.#commandDuration = new Histogram({
      name: 'lab_command_duration_seconds',
      help: 'From receiving a command to its final reply, per command, platform and outcome (ok, refused, error)',
      labelNames: ['command', 'platform', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.#leaseHolder = new Gauge({
      name: 'lab_lease_holder',
      help: 'Who holds each lease: 1 on the holder label (absent when nobody does)',
      labelNames: ['lease', 'holder'],
      registers,
    });
    this.#leaseHeld = new Gauge({
      name: 'lab_lease_held',
      help: '1 when this process holds the lease, else 0',
      labelNames: ['lease'],
      registers,
    });
  }

  /** Feed for `Clusters` (PVE requests) and `SyncEngine` (sync runs). */
  readonly observer: LabObserver = {
    pveRequest: (r: PveRequestRecord) => {
      this.#pveDuration.observe({ cluster: r.clusterId, method: r.method, endpoint: r.endpoint }, r.durationMs / 1000);
      const code = r.status === null ? (r.errorCode ?? 'unknown') : r.status >= 400 ? String(r.status) : undefined;
      if (code !== undefined)
        this.#pveErrors.inc({ cluster: r.clusterId, method: r.method, endpoint: r.endpoint, code });
    },
    syncFinished: (report: ClusterSyncReport) => {
      const outcome = report.skipped ? 'skipped' : report.ok ? 'ok' : 'failed';
      this.#syncDuration.observe({ cluster: report.clusterId, kind: report.kind, outcome }, report.durationMs / 1000);
      if (report.ok) this.#syncVms.set({ cluster: report.clusterId }, report.vms);
    },
  };

  /** Feed for `CommandRouterOptions.onCommandFinished`. */
  readonly commandFinished = (record: CommandRecord): void => {
    this.#commandDuration.observe(
      { command: record.command, platform: record.platform, outcome: record.outcome },
      record.durationMs / 1000,
    );
  };

  /** Where scrape-time gauges read from; until set, only the fed metrics are rendered. */
  bind(sources: MetricsSources): void {
    this.#sources = sources;
  }

  /** The Prometheus text exposition, with the store's gauges read now. */
  async render(): Promise<string> {
    if (this.#sources) await this.#refresh(this.#sources);
    return this.registry.metrics();
  }

  /** The exposition's content type (`text/plain; version=0.0.4`). */
  get contentType(): string {
    return this.registry.contentType;
  }

  async #refresh(sources: MetricsSources): Promise<void> {
    const { store } = sources;
    const [stats, unfinished, leases] = await Promise.all([
      sources.syncStats(),
      store.deployments.unfinished(),
      Promise.all(PROCESS_LEASES.map((name) => store.sync.getLease(name))),
    ]);
    this.#inventory.set({ state: 'total' }, stats.total);
    this.#inventory.set({ state: 'fresh' }, stats.fresh);
    this.#inventory.set({ state: 'errored' }, stats.withErrors);
    this.#inventory.set({ state: 'running' }, stats.running);
    this.#syncErrors.reset();
    this.#syncAge.reset();
    for (const c of stats.clusters) {
      this.#syncErrors.set({ cluster: c.clusterId }, c.consecutiveErrors);
      if (c.lastSuccessAt !== null) this.#syncAge.set({ cluster: c.clusterId }, c.lastSuccessAt / 1000);
    }
    this.#deployments.set(unfinished.length);
    const counts: Record<string, number> = { pending: 0, cloning: 0, verifying: 0 };
    for (const d of unfinished)
      for (const item of await store.deployments.items(d.id)) if (item.status in counts) counts[item.status]!++;
    for (const [status, n] of Object.entries(counts)) this.#items.set({ status }, n);
    const now = Date.now();
    const mine = holderIdsOf(sources);
    this.#leaseHolder.reset();
    PROCESS_LEASES.forEach((name, i) => {
      const lease = leases[i];
      const holder = lease && lease.expiresAt > now ? lease.holder : undefined;
      if (holder) this.#leaseHolder.set({ lease: name, holder }, 1);
      this.#leaseHeld.set({ lease: name }, holder !== undefined && holder === mine[name] ? 1 : 0);
    });
  }
}

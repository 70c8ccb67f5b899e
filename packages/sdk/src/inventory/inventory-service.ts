import { systemClock, type Clock } from '../ports/clock.js';
import type { SyncStateRecord, VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { clusterAnswerMaxAgeMs, clusterReadiness } from './cluster-readiness.js';
import type { SyncEngine } from './sync-engine.js';
import { classesTaughtBy, type Viewer } from './viewer.js';
import { checkOptions, PORT_HINTS } from '../util/constructor-options.js';

/** A query of the inventory. */
export interface ListVmsQuery {
  user: Viewer;
  clusterId?: string;
  search?: string;
  includeTemplates?: boolean;
  /** Quick-sync the cluster(s) first (one request each) for callers that must see the cluster now. */
  forceRefresh?: boolean;
  /** At most this many VMs, the first by cluster and VMID; `more` then says whether others match. */
  limit?: number;
}

/** VMs as the database knows them, and how fresh that is. */
export interface ListVmsResult {
  vms: VmInventoryRecord[];
  /** True when the query's `limit` left out VMs that match. */
  more: boolean;
  /** True when a cluster's last successful sync is older than the threshold (or never happened). */
  stale: boolean;
  staleClusters: string[];
  /** Oldest last-successful-sync time among the clusters asked about. */
  lastSyncAt: number | null;
}

/** Sync figures for dashboards and `/lab sync`. */
export interface SyncStats {
  total: number;
  fresh: number;
  withErrors: number;
  running: number;
  lastFullSyncAt: number | null;
  lastQuickSyncAt: number | null;
  consecutiveErrors: number;
  isRunning: boolean;
  isLeader: boolean;
  clusters: Array<{
    clusterId: string;
    lastSuccessAt: number | null;
    consecutiveErrors: number;
    lastError: string | null;
    nextAttemptAt: number | null;
  }>;
}

/** A VM that is not running has no current address, whatever an older row remembers. */
function withoutStaleAddress(vm: VmInventoryRecord): VmInventoryRecord {
  return vm.status === 'running' ? vm : { ...vm, ip: null, sshAvailable: false, rdpAvailable: false };
}

/** Reads of the database-first inventory: fast, filtered by ownership, with a `stale` flag. */
export class InventoryService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #sync: SyncEngine | undefined;
  readonly #staleAfterMs: number;
  readonly #clusterMaxAgeMs: number;
  readonly #clusterIds: () => string[];

  constructor(deps: {
    store: Store;
    clusterIds: () => string[];
    clock?: Clock;
    sync?: SyncEngine;
    staleAfterMs?: number;
    /**
     * How old a cluster's last successful sync may be in {@link InventoryService.syncHealth}, the
     * rule `/readyz` uses too. @defaultValue `clusterAnswerMaxAgeMs` of the sync's quick interval and lease TTL
     */
    clusterMaxAgeMs?: number;
  }) {
    checkOptions(
      'new InventoryService',
      deps,
      { store: 'object', clusterIds: 'function', clock: 'object?', sync: 'object?' },
      { ...PORT_HINTS, clusterIds: 'a function returning the cluster ids, e.g. () => clusters.ids()' },
    );
    this.#store = deps.store;
    this.#clock = deps.clock ?? systemClock;
    this.#sync = deps.sync;
    this.#clusterIds = deps.clusterIds;
    this.#staleAfterMs = deps.staleAfterMs ?? (deps.sync ? 2 * deps.sync.intervals.fullMs : 600_000);
    this.#clusterMaxAgeMs =
      deps.clusterMaxAgeMs ?? clusterAnswerMaxAgeMs(deps.sync?.intervals.quickMs, deps.sync?.intervals.leaseTtlMs);
  }

  /**
   * Reads one VM again from its cluster now (config, address, SSH/RDP readiness) when this process
   * runs a sync engine; otherwise the inventory stays as the last sync left it. Returns its row.
   */
  async refreshVm(clusterId: string, vmid: number): Promise<VmInventoryRecord | undefined> {
    if (this.#sync) await this.#sync.refreshVm(clusterId, vmid);
    return this.#store.inventory.get(clusterId, vmid);
  }

  /**
   * The VMs `user` may see (students: theirs; teachers: their classes' and theirs; admins: all).
   * A VM that is not running is listed without an IP and with SSH and RDP unavailable.
   */
  async listVms(query: ListVmsQuery): Promise<ListVmsResult> {
    if (query.forceRefresh && this.#sync)
      await this.#sync.quickSync({ ...(query.clusterId ? { clusterId: query.clusterId } : {}), force: true });
    // One row past the limit tells whether more match, without counting them.
    const base = {
      ...(query.clusterId ? { clusterId: query.clusterId } : {}),
      ...(query.search ? { search: query.search } : {}),
      ...(query.limit !== undefined ? { limit: query.limit + 1 } : {}),
      includeTemplates: query.includeTemplates ?? false,
    };
    let vms: VmInventoryRecord[];
    let syncStates: SyncStateRecord[];
    const { user } = query;
    // The VMs come with the sync states (one round trip on PostgreSQL); a teacher's classes are
    // read beside them.
    if (user.role === 'admin') ({ vms, syncStates } = await this.#store.inventory.listWithSyncStates(base));
    else if (user.personId === null) [vms, syncStates] = [[], await this.#store.sync.listStates()];
    else {
      const [own, taught] = await Promise.all([
        this.#store.inventory.listWithSyncStates({ ...base, personId: user.personId }),
        user.role === 'teacher' ? classesTaughtBy(this.#store, user.personId) : [],
      ]);
      const ofClasses = taught.length ? await this.#store.inventory.list({ ...base, classIds: taught }) : [];
      const seen = new Set<string>();
      vms = [...own.vms, ...ofClasses]
        .filter((v) => !seen.has(`${v.clusterId}/${v.vmid}`) && seen.add(`${v.clusterId}/${v.vmid}`))
        .sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.vmid - b.vmid);
      syncStates = own.syncStates;
    }
    const more = query.limit !== undefined && vms.length > query.limit;
    vms = (more ? vms.slice(0, query.limit) : vms).map(withoutStaleAddress);
    const clusters = query.clusterId ? [query.clusterId] : this.#clusterIds();
    const states = new Map(syncStates.map((s) => [s.clusterId, s]));
    const now = this.#clock.now();
    const staleClusters = clusters.filter((c) => {
      const at = states.get(c)?.lastSuccessAt;
      return at === null || at === undefined || now - at > this.#staleAfterMs;
    });
    const times = clusters.map((c) => states.get(c)?.lastSuccessAt ?? null);
    return {
      vms,
      more,
      stale: staleClusters.length > 0,
      staleClusters,
      lastSyncAt: times.includes(null) ? null : Math.min(...(times as number[])),
    };
  }

  /** Totals of the inventory and the state of every cluster's sync. */
  async syncStats(): Promise<SyncStats> {
    const all = await this.#store.inventory.list({ includeTemplates: true });
    const now = this.#clock.now();
    const states = await this.#store.sync.listStates();
    const max = (xs: Array<number | null>) =>
      xs.some((x) => x !== null) ? Math.max(...xs.filter((x): x is number => x !== null)) : null;
    // A row is fresh only while its cluster answers the sync by the rule /readyz uses: after failed
    // syncs past that limit its rows are what the cluster said last, however recently they changed.
    const answering = new Set(
      states.filter((s) => clusterReadiness(s, now, this.#clusterMaxAgeMs).ok).map((s) => s.clusterId),
    );
    return {
      total: all.length,
      fresh: all.filter((v) => answering.has(v.clusterId) && now - v.lastUpdated <= this.#staleAfterMs).length,
      withErrors: all.filter((v) => v.syncError !== null).length,
      running: all.filter((v) => v.status === 'running').length,
      lastFullSyncAt: max(states.map((s) => s.lastFullSyncAt)),
      lastQuickSyncAt: max(states.map((s) => s.lastQuickSyncAt)),
      consecutiveErrors: Math.max(0, ...states.map((s) => s.consecutiveErrors)),
      isRunning: this.#sync?.isRunning ?? false,
      isLeader: this.#sync?.isLeader ?? false,
      clusters: this.#clusterIds().map((clusterId) => {
        const s = states.find((x) => x.clusterId === clusterId);
        return {
          clusterId,
          lastSuccessAt: s?.lastSuccessAt ?? null,
          consecutiveErrors: s?.consecutiveErrors ?? 0,
          lastError: s?.lastError ?? null,
          nextAttemptAt: s?.nextAttemptAt ?? null,
        };
      }),
    };
  }

  /**
   * Healthy when every cluster answered a sync within the limit `/readyz` uses (so both agree);
   * otherwise the issues ("cluster lab2 last answered 79 s ago (limit 30 s)"). Failed syncs within
   * that limit and VMs with sync errors are warnings: worth a look, not an outage.
   */
  async syncHealth(): Promise<{ healthy: boolean; issues: string[]; warnings: string[] }> {
    const stats = await this.syncStats();
    const now = this.#clock.now();
    const issues: string[] = [];
    const warnings: string[] = [];
    for (const c of stats.clusters) {
      const readiness = clusterReadiness(c, now, this.#clusterMaxAgeMs);
      if (!readiness.ok) issues.push(`cluster ${c.clusterId} ${readiness.reason}`);
      else if (c.consecutiveErrors > 0)
        warnings.push(
          `cluster ${c.clusterId}: ${c.consecutiveErrors} failed syncs since its last answer (${c.lastError})`,
        );
    }
    if (stats.withErrors > 0) warnings.push(`${stats.withErrors} VMs have sync errors`);
    return { healthy: issues.length === 0, issues, warnings };
  }
}

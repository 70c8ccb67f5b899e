import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Store } from '../store/store.js';
import { whileHoldingLease } from '../store/lease-heartbeat.js';
import { syncTickMs } from './sync-timing.js';

/** The store lease whose holder runs the background syncs. */
const LEASE = 'sync-leader';

/** What the sync loop needs: the lease, the intervals, and the sync it runs when one is due. */
export interface SyncSchedulerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Who this process is in the leader lease. */
  holderId: string;
  fullIntervalMs: number;
  quickIntervalMs: number;
  leaseTtlMs: number;
  /** The clusters to keep in sync. */
  clusterIds: () => string[];
  /** Syncs one cluster now. */
  sync: (clusterId: string, kind: 'full' | 'quick') => Promise<unknown>;
}

/**
 * The background loop of the sync: every tick it takes or renews the leader lease, and while it
 * holds it runs each cluster's full sync when the full interval has passed since the last one,
 * else its quick sync when the quick interval has.
 */
export class SyncScheduler {
  readonly #o: SyncSchedulerOptions;
  #loop: Promise<void> | undefined;
  #stop: AbortController | undefined;
  #isLeader = false;

  constructor(options: SyncSchedulerOptions) {
    this.#o = options;
  }

  /** Whether this process holds the leader lease (as of its last attempt). */
  get isLeader(): boolean {
    return this.#isLeader;
  }

  /** Whether the loop runs. */
  get isRunning(): boolean {
    return this.#loop !== undefined;
  }

  /** Runs the loop: take or renew the lease; if held, run the syncs that are due. */
  start(): void {
    if (this.#loop) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = (async () => {
      const tick = syncTickMs(this.#o.quickIntervalMs, this.#o.leaseTtlMs);
      while (!stop.signal.aborted) {
        try {
          this.#isLeader = await this.#o.store.sync.acquireLease(
            LEASE,
            this.#o.holderId,
            this.#o.leaseTtlMs,
            this.#o.clock.now(),
          );
          // A long full sync keeps the lease by heartbeat; a dead leader's lease expires after its TTL.
          if (this.#isLeader)
            await whileHoldingLease(
              {
                store: this.#o.store,
                clock: this.#o.clock,
                name: LEASE,
                holder: this.#o.holderId,
                ttlMs: this.#o.leaseTtlMs,
                logger: this.#o.logger,
              },
              () => this.#runDue(),
            );
        } catch (error) {
          this.#o.logger.error('sync loop error (continuing)', { error });
        }
        await this.#o.clock.sleep(tick, stop.signal).catch(() => undefined);
      }
    })();
  }

  async #runDue(): Promise<void> {
    const now = this.#o.clock.now();
    const states = new Map((await this.#o.store.sync.listStates()).map((s) => [s.clusterId, s]));
    await Promise.all(
      this.#o.clusterIds().map((clusterId) => {
        const s = states.get(clusterId);
        const fullDue = !s?.lastFullSyncAt || now - s.lastFullSyncAt >= this.#o.fullIntervalMs;
        const quickDue = !s?.lastQuickSyncAt || now - s.lastQuickSyncAt >= this.#o.quickIntervalMs;
        if (fullDue) return this.#o.sync(clusterId, 'full');
        if (quickDue) return this.#o.sync(clusterId, 'quick');
        return Promise.resolve();
      }),
    );
  }

  /** Stops the loop and gives the lease up so another process takes over at once. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    if (this.#isLeader) await this.#o.store.sync.releaseLease(LEASE, this.#o.holderId);
    this.#isLeader = false;
  }

  /** Stops the loop without releasing the lease, as a crashed process would (for tests). */
  async abandon(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#isLeader = false;
  }
}

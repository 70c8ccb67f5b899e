import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { Store } from '../store/store.js';
import { scanTemplateInventory, type TemplateScanReport } from './template-inventory.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** Settings of the periodic template scan. */
export interface TemplateScanScheduleOptions {
  store: Store;
  clusters: ClusterApis;
  /**
   * Whether this process may scan now: pass the sync engine's `isLeader`, so the scan runs in
   * exactly one process of the school, next to the inventory sync.
   */
  isLeader: () => boolean;
  clock?: Clock;
  logger?: Logger;
  /** @defaultValue 1800000 (30 min) */
  intervalMs?: number;
  /** How often a follower checks whether it became the leader. @defaultValue 30000 */
  checkIntervalMs?: number;
  onReport?: (reports: TemplateScanReport[]) => void;
}

/**
 * Runs `scanTemplateInventory` every `intervalMs` while this process is the leader (as the sync
 * engine decides), on the injected clock. The first scan runs as soon as the process leads; a scan
 * that fails is logged and retried at the next interval. Start it next to `SyncEngine.start()`.
 */
export class TemplateScanSchedule {
  readonly #o: TemplateScanScheduleOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #checkMs: number;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #lastScanAt: number | undefined;

  constructor(options: TemplateScanScheduleOptions) {
    checkOptions('new TemplateScanSchedule', options, { ...STORE_AND_CLUSTERS, isLeader: 'function' }, PORT_HINTS);
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'template-scan' });
    this.#intervalMs = options.intervalMs ?? SDK_DEFAULTS.templateScan.intervalMs;
    this.#checkMs = Math.min(options.checkIntervalMs ?? SDK_DEFAULTS.templateScan.checkIntervalMs, this.#intervalMs);
  }

  /** When this process last finished a scan (undefined: never). */
  get lastScanAt(): number | undefined {
    return this.#lastScanAt;
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.#loop) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        const now = this.#clock.now();
        if (this.#o.isLeader() && (this.#lastScanAt === undefined || now - this.#lastScanAt >= this.#intervalMs)) {
          try {
            const reports = await scanTemplateInventory({
              store: this.#o.store,
              clusters: this.#o.clusters,
              clock: this.#clock,
            });
            this.#o.onReport?.(reports);
          } catch (error) {
            this.#logger.error('template scan failed', { error });
          }
          this.#lastScanAt = now;
        }
        await this.#clock.sleep(this.#checkMs, stop.signal).catch(() => undefined);
      }
    })();
  }

  /** Stops the loop and waits for a scan in progress. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }
}

import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { AuditRecord, EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { leaseHolderId } from '../store/lease-heartbeat.js';
import { DirectoryNotConfiguredError, DirectorySyncBusyError } from './directory-errors.js';
import type { DirectoryPersonInput } from './directory-person.js';
import type { DirectorySource } from './directory-source.js';
import {
  DIRECTORY_ACTOR,
  DIRECTORY_SYNC_ACTION,
  runDirectorySync,
  type DirectoryChangeCounts,
  type DirectorySyncReport,
} from './directory-sync.js';
import { enrolFromGroups, type GroupEnrolmentResult } from './group-enrolment.js';
import type { GroupMapping } from './group-mapping.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** The store lease one directory sync runs under, whichever process (or `lab directory sync`) runs it. */
export const DIRECTORY_LEASE = 'directory-sync';

/** Options of {@link DirectoryService}. */
export interface DirectoryServiceOptions {
  store: Store;
  mapping: GroupMapping;
  /** Where people and groups are read from; without it only sign-in mapping works. */
  source?: DirectorySource;
  clock?: Clock;
  logger?: Logger;
  /** @defaultValue 0.2 */
  maxUnenrolShare?: number;
  /** How often the scheduled sync runs (across all processes: the store says when it last ran). @defaultValue 3600000 */
  intervalMs?: number;
  /** How often a process checks whether a sync is due. @defaultValue 60000 */
  checkIntervalMs?: number;
  /** How long one sync may hold the lease. @defaultValue 600000 */
  leaseTtlMs?: number;
  /** This process's name in the lease. @defaultValue `<host>:<pid>:<random>` */
  holderId?: string;
}

/** What `lab directory status` shows. */
export interface DirectoryStatus {
  configured: boolean;
  source: string | null;
  intervalMs: number;
  /** The most recent sync (dry runs included). */
  lastRun: {
    at: EpochMs;
    mode: string;
    outcome: AuditRecord['outcome'];
    counts: DirectoryChangeCounts | null;
    people: number | null;
    error: { code: string; message: string } | null;
  } | null;
  /** When a sync last applied the directory successfully. */
  lastSuccessAt: EpochMs | null;
  /** Failed or stopped syncs since the last success. */
  failuresSinceSuccess: number;
  /** A sync holding the lease now. */
  running: { holder: string; until: EpochMs } | null;
}

/**
 * The school directory in the lab: the group mapping every sign-in applies (`enrolFromSignIn`),
 * `sync` (one run under the store's `directory-sync` lease, so two processes never sync at once),
 * `status`, and the schedule `lab serve` runs (`start` / `stop`): a sync whenever the last one is
 * `intervalMs` old. A failed scheduled sync is logged and audited; the lab keeps the roster it has.
 */
export class DirectoryService {
  readonly mapping: GroupMapping;
  readonly holderId: string;
  readonly #o: DirectoryServiceOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: DirectoryServiceOptions) {
    this.#o = options;
    this.mapping = options.mapping;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'directory' });
    this.#intervalMs = options.intervalMs ?? SDK_DEFAULTS.directory.intervalMs;
    this.holderId = options.holderId ?? leaseHolderId();
  }

  /** Whether a directory to sync from is configured. */
  get configured(): boolean {
    return this.#o.source !== undefined;
  }

  /** Applies a signed-in person's groups (the OpenID Connect `groups` claim); see `enrolFromGroups`. */
  enrolFromSignIn(person: DirectoryPersonInput): Promise<GroupEnrolmentResult> {
    return enrolFromGroups({ store: this.#o.store, clock: this.#clock }, this.mapping, person, { source: 'oidc' });
  }

  /** One sync now, under the lease; `DirectorySyncBusyError` while another runs. */
  async sync(options: { dryRun?: boolean; confirmUnenrol?: boolean } = {}): Promise<DirectorySyncReport> {
    const source = this.#o.source;
    if (!source) throw new DirectoryNotConfiguredError();
    const { store } = this.#o;
    const ttl = this.#o.leaseTtlMs ?? SDK_DEFAULTS.directory.leaseTtlMs;
    if (!(await store.sync.acquireLease(DIRECTORY_LEASE, this.holderId, ttl, this.#clock.now()))) {
      const lease = await store.sync.getLease(DIRECTORY_LEASE);
      throw new DirectorySyncBusyError(lease?.holder ?? 'another process', lease?.expiresAt ?? this.#clock.now() + ttl);
    }
    try {
      return await runDirectorySync(
        {
          store,
          source,
          mapping: this.mapping,
          clock: this.#clock,
          logger: this.#logger,
          ...(this.#o.maxUnenrolShare !== undefined ? { maxUnenrolShare: this.#o.maxUnenrolShare } : {}),
        },
        options,
      );
    } finally {
      await store.sync.releaseLease(DIRECTORY_LEASE, this.holderId);
    }
  }

  /** The last runs, from the audit log (shared by every process). */
  async status(): Promise<DirectoryStatus> {
    const { store } = this.#o;
    const runs = await store.audit.list({ actor: DIRECTORY_ACTOR, action: DIRECTORY_SYNC_ACTION, limit: 200 });
    const last = runs[0];
    const applies = runs.filter((r) => r.details.mode === 'apply');
    const success = applies.findIndex((r) => r.outcome === 'ok');
    const lease = await store.sync.getLease(DIRECTORY_LEASE);
    const d = last?.details as
      | {
          mode?: string;
          counts?: DirectoryChangeCounts;
          read?: { people?: number };
          error?: { code: string; message: string };
        }
      | undefined;
    return {
      configured: this.configured,
      source: this.#o.source?.description ?? null,
      intervalMs: this.#intervalMs,
      lastRun: last
        ? {
            at: last.at,
            mode: d?.mode ?? 'apply',
            outcome: last.outcome,
            counts: d?.counts ?? null,
            people: d?.read?.people ?? null,
            error: d?.error ?? null,
          }
        : null,
      lastSuccessAt: success >= 0 ? applies[success]!.at : null,
      failuresSinceSuccess: success >= 0 ? success : applies.length,
      running: lease && lease.expiresAt > this.#clock.now() ? { holder: lease.holder, until: lease.expiresAt } : null,
    };
  }

  /** Starts the scheduled sync (once); it does nothing when no source is configured. */
  start(): void {
    if (this.#loop || !this.#o.source) return;
    const stop = new AbortController();
    this.#stop = stop;
    const checkMs = Math.min(this.#o.checkIntervalMs ?? SDK_DEFAULTS.directory.checkIntervalMs, this.#intervalMs);
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        await this.#runIfDue();
        await this.#clock.sleep(checkMs, stop.signal).catch(() => undefined);
      }
    })();
  }

  /** Stops the schedule and waits for a sync in progress. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #runIfDue(): Promise<void> {
    try {
      const [last] = (
        await this.#o.store.audit.list({ actor: DIRECTORY_ACTOR, action: DIRECTORY_SYNC_ACTION, limit: 20 })
      ).filter((r) => r.details.mode === 'apply');
      if (last && this.#clock.now() - last.at < this.#intervalMs) return;
      await this.sync();
    } catch (error) {
      if (error instanceof DirectorySyncBusyError) return;
      // Already audited by the sync; the lab goes on with the roster it has.
      this.#logger.warn('scheduled directory sync failed; keeping the last known roster', { error });
    }
  }
}

import type { Clock } from '../ports/clock.js';
import type { PveApi } from '../ports/pve-api.js';
import { rootApi } from '../pve/budgeted-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { parseUpid } from './upid.js';

/** What one read of a node's task list said about a task a waiter follows. */
export type TaskSighting =
  /** Listed as running. */
  | { state: 'running' }
  /** Listed with its exit status (ended, from the archive), or gone from the list (PVE archives a task once its worker ends). */
  | { state: 'ended'; exitstatus?: string }
  /** The list could not say (the read failed, or the list was cut off at its limit): read the task's own status. */
  | { state: 'unknown' }
  /** A passive wait's time came with no listing read meanwhile showing the task ended. */
  | { state: 'quiet' };

interface Waiter {
  upid: string;
  /** The task's start (the UPID's, Unix seconds): a listing asks for the tasks started since the oldest waiter's. */
  starttime: number;
  /** The API the waiter follows its task through (a deployment's, with its retry budget): a listing read for it goes through it. */
  api: PveApi;
  dueAt: number;
  /** A listing another waiter's turn reads up to this long before `dueAt` serves this one too. */
  earlyMs: number;
  /** Registration order: only a listing sent after the task was known may say it is gone. */
  seq: number;
  /** Reads no listing of its own: told only when another waiter's listing shows the task ended, or `quiet` at `dueAt`. */
  passive: boolean;
  resolve: (s: TaskSighting) => void;
}

/** Rows one listing asks for; a longer list cannot prove that a task is gone. */
const LIST_LIMIT = 1000;

/** The waiters of one node and the loop that reads its task list for them. */
class NodeTaskWatch {
  readonly #waiters = new Set<Waiter>();
  readonly #read: (api: PveApi, since: number) => Promise<Array<{ upid: string; status?: string | undefined }>>;
  readonly #clock: Clock;
  readonly #counted: (served: number) => void;
  #seq = 0;
  #running = false;
  #sleepUntil = Number.POSITIVE_INFINITY;
  #wake: AbortController | undefined;

  constructor(
    read: (api: PveApi, since: number) => Promise<Array<{ upid: string; status?: string | undefined }>>,
    clock: Clock,
    counted: (served: number) => void,
  ) {
    this.#read = read;
    this.#clock = clock;
    this.#counted = counted;
  }

  add(waiter: Omit<Waiter, 'seq'>, signal?: AbortSignal): Promise<TaskSighting> {
    const w: Waiter = { ...waiter, seq: ++this.#seq };
    const timer = new AbortController();
    const cleanups: Array<() => void> = [() => timer.abort()];
    const settled = new Promise<TaskSighting>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        this.#waiters.delete(w);
        for (const c of cleanups) c();
        fn();
      };
      w.resolve = (s) => finish(() => resolve(s));
      if (signal) {
        const onAbort = (): void => finish(() => reject(signal.reason));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
      if (w.passive)
        this.#clock
          .sleep(Math.max(0, w.dueAt - this.#clock.now()), timer.signal)
          .then(() => w.resolve({ state: 'quiet' }))
          .catch(() => undefined);
    });
    if (signal?.aborted) return settled;
    this.#waiters.add(w);
    if (w.passive) return settled;
    if (!this.#running) void this.#loop();
    else if (w.dueAt < this.#sleepUntil) this.#wake?.abort();
    return settled;
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        let due = Number.POSITIVE_INFINITY;
        let first: Waiter | undefined;
        for (const w of this.#waiters)
          if (!w.passive && w.dueAt < due) {
            due = w.dueAt;
            first = w;
          }
        if (!first) break;
        const wait = due - this.#clock.now();
        if (wait > 0) {
          const wake = new AbortController();
          this.#wake = wake;
          this.#sleepUntil = due;
          let woken = false;
          await this.#clock.sleep(wait, wake.signal).catch(() => (woken = true));
          this.#sleepUntil = Number.POSITIVE_INFINITY;
          // Woken for an earlier waiter: look again. A sleep that ran its course reached `due`,
          // whatever an injected clock reads (a test's clock may stand still).
          if (woken) continue;
        }
        // Every waiter registered so far followed a task PVE had already started (it gave us its UPID).
        const known = this.#seq;
        let since = Number.POSITIVE_INFINITY;
        for (const w of this.#waiters) since = Math.min(since, w.starttime);
        const rows = await this.#read(first.api, since).catch(() => undefined);
        const now = Math.max(this.#clock.now(), due);
        const listed = new Map(rows?.map((r) => [r.upid, r]));
        const complete = rows !== undefined && rows.length < LIST_LIMIT;
        let served = 0;
        for (const w of [...this.#waiters]) {
          const due = !w.passive && w.dueAt - w.earlyMs <= now;
          // Registered while the listing was on its way, for a task older than it asked for: the next one.
          if (w.starttime < since) continue;
          const row = listed.get(w.upid);
          let sighting: TaskSighting | undefined;
          if (row?.status !== undefined && row.status !== 'RUNNING')
            sighting = { state: 'ended', exitstatus: row.status };
          else if (row) sighting = due ? { state: 'running' } : undefined;
          else if (complete && w.seq <= known) sighting = { state: 'ended' };
          else sighting = due ? { state: 'unknown' } : undefined;
          if (!sighting) continue;
          served++;
          w.resolve(sighting);
        }
        this.#counted(served);
      }
    } finally {
      this.#running = false;
    }
  }
}

/**
 * Follows many tasks on a cluster with one read of each node's task list per wake-up instead of
 * one status read per task and poll: `GET /nodes/{node}/tasks?source=all&since=<the oldest
 * waiter's start>`, the node's active tasks and then those archived since. PVE lists a running task
 * among the active ones (`status: RUNNING`) from the moment it hands out its UPID; once its worker
 * has ended it is archived with its end time and exit status in `status` (pve-common
 * `RESTEnvironment.pm` `fork_worker`, `active_workers`; pve-manager `PVE/API2/Tasks.pm`
 * `node_tasks`, which reads the active list and then the task index, filtering both by `since`).
 * So one listing says of every waiter's task whether it runs or how it ended; only a task missing
 * from a list that was not cut off (between the two files, or an unreadable answer) costs its own
 * `…/status` read. A waiter whose task the list shows ended is told at once, whenever its own turn
 * was to come.
 */
export class TaskWatcher {
  readonly #api: PveApi;
  readonly #clock: Clock;
  readonly #nodes = new Map<string, NodeTaskWatch>();
  /** Recent durations of tasks by node and kind, newest last. */
  readonly #durations = new Map<string, number[]>();
  #listings = 0;
  #served = 0;

  constructor(api: PveApi, clock: Clock) {
    this.#api = api;
    this.#clock = clock;
  }

  /** Active-task listings read so far. */
  get listings(): number {
    return this.#listings;
  }

  /** Waits those listings answered (one listing answers every waiter of its node that is due). */
  get served(): number {
    return this.#served;
  }

  /**
   * How long a task of `kind` (e.g. `qmclone:linked`) on `node` should run, from the last few that
   * ended (a little less than their median, so the first read rather comes early than late), or
   * undefined before one has. Clones queued behind others at a storage lock take longer than
   * alone; this learns it.
   */
  expectedMs(node: string, kind: string): number | undefined {
    const seen = this.#durations.get(`${node}\u0000${kind}`);
    if (!seen?.length) return undefined;
    const sorted = [...seen].sort((a, b) => a - b);
    return 0.9 * sorted[Math.floor(sorted.length / 2)]!;
  }

  /** Records that a task of `kind` on `node` ran `ms` (from its UPID to the read that saw it end). */
  observe(node: string, kind: string, ms: number): void {
    const key = `${node}\u0000${kind}`;
    const seen = this.#durations.get(key) ?? [];
    seen.push(ms);
    if (seen.length > 5) seen.shift();
    this.#durations.set(key, seen);
  }

  /**
   * What the node's active task list says of `upid` at `dueAt` (a listing read up to `earlyMs`
   * before serves), or earlier when a listing for another waiter shows the task ended. A `passive`
   * wait reads no listing of its own: it ends `quiet` at `dueAt` unless one shows the task ended.
   */
  sighting(
    node: string,
    upid: string,
    dueAt: number,
    options: { earlyMs?: number; passive?: boolean; signal?: AbortSignal; api?: PveApi } = {},
  ): Promise<TaskSighting> {
    let watch = this.#nodes.get(node);
    if (!watch) {
      watch = new NodeTaskWatch(
        (api, since) => pveResources(api).tasks(node).list({ source: 'all', since, limit: LIST_LIMIT }),
        this.#clock,
        (served) => {
          this.#listings++;
          this.#served += served;
        },
      );
      this.#nodes.set(node, watch);
    }
    return watch.add(
      {
        upid,
        starttime: parseUpid(upid).starttime,
        api: options.api ?? this.#api,
        dueAt,
        earlyMs: options.earlyMs ?? 0,
        passive: options.passive ?? false,
        resolve: () => undefined,
      },
      options.signal,
    );
  }
}

const watchers = new WeakMap<PveApi, WeakMap<Clock, TaskWatcher>>();

/**
 * The one `TaskWatcher` of `api`'s cluster client on `clock`, shared by every wait in this process:
 * the deployments running at once on a cluster each wrap its client with their own retry budget
 * (`withRetryBudget`), and one listing of a node serves all of their waiters.
 */
export function taskWatcher(api: PveApi, clock: Clock): TaskWatcher {
  const root = rootApi(api);
  let byClock = watchers.get(root);
  if (!byClock) watchers.set(root, (byClock = new WeakMap()));
  let watcher = byClock.get(clock);
  if (!watcher) byClock.set(clock, (watcher = new TaskWatcher(root, clock)));
  return watcher;
}

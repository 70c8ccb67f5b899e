import { PveTaskFailedError, PveTaskTimeoutError } from '../errors/pve-errors.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { isTaskSuccess, parseUpid } from './upid.js';
import { parseProgressPercent } from './task-progress.js';
import { SDK_DEFAULTS } from '../util/defaults.js';
import type { TaskStatus } from '../pve/pve-schemas.js';
import { taskWatcher } from './task-watcher.js';

/** The final state of a task that ended well. */
export interface TaskResult {
  upid: string;
  /** `OK` or `WARNINGS: N`. */
  exitstatus: string;
  /** Wall time spent waiting, in ms. */
  waitedMs: number;
}

/** Options of `waitForTask`. */
export interface WaitForTaskOptions {
  /** Give up after this long; throws `PveTaskTimeoutError`. @defaultValue `600000` */
  timeoutMs?: number;
  /** First poll interval; grows ×1.5 up to `maxPollIntervalMs`. @defaultValue `250` */
  pollIntervalMs?: number;
  /** @defaultValue `2000` */
  maxPollIntervalMs?: number;
  /**
   * How long the task is expected to run (`expectedTaskMs`): its first status read waits this
   * long, then reads back off from `pollIntervalMs`. Undefined: read at once.
   */
  expectedMs?: number;
  /**
   * Follow the task through its node's active task list, one read of which serves every task
   * waited for on that node (`TaskWatcher`), and read its own status only once the list shows it
   * ended. @defaultValue `false`
   */
  sharedTaskList?: boolean;
  /**
   * With `sharedTaskList`: what kind of task this is (e.g. `qmclone:linked`), so its first read
   * waits about as long as the last ones of that kind on its node took (learnt, and preferred over
   * `expectedMs` once known).
   */
  durationKind?: string;
  /**
   * How often the task log is read for `onLog` / `onProgress` while the task runs (and once when it
   * ends); a full clone's progress then also says when it should end. Undefined: at every poll.
   */
  logIntervalMs?: number;
  /**
   * With `logIntervalMs`: once a copy's rate is known, read the log next only halfway to when the
   * copy should end at its latest rate (re-estimated at each read), and none once that is less
   * than a poll interval away; the status is read when the copy should end (and the log again if
   * it has not by then). A copy that shares its storage's throughput with others (a migration, a
   * full clone) speeds up or slows down as they start and end; halving the remaining time follows
   * that with a few reads instead of one every `logIntervalMs`. @defaultValue `false`
   */
  logHalfway?: boolean;
  /** Called with each new task-log line (reads `…/log` incrementally). */
  onLog?: (line: string) => void;
  /** Called with each new percentage found in the log (full clones print `(NN.NN%)`). */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
  clock?: Clock;
  /** Where a task that ended `WARNINGS: N` is reported (with its `WARN:` lines), as a warning. */
  logger?: Logger;
}

/**
 * Waits for a PVE task to stop, polling `/nodes/{node}/tasks/{upid}/status` — from `expectedMs`
 * on and backing off, or through the node's shared active task list (`sharedTaskList`) with one
 * status read at the end. Resolves only on
 * `exitstatus` `OK` or `WARNINGS: N` (pve-common `PVE::RESTEnvironment` counts `log_warn` lines;
 * the work was done), the latter logged as a warning with the task's `WARN:` lines; any other end
 * throws `PveTaskFailedError` with the log tail, or the `PveRefusedError` `classifyPveFailure` reads
 * from it (the same error PVE's immediate refusal of that request gives).
 */
export async function waitForTask(api: PveApi, upid: string, options: WaitForTaskOptions = {}): Promise<TaskResult> {
  const { node } = parseUpid(upid);
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? SDK_DEFAULTS.taskWait.timeoutMs;
  const maxInterval = options.maxPollIntervalMs ?? SDK_DEFAULTS.taskWait.maxPollIntervalMs;
  let interval = options.pollIntervalMs ?? SDK_DEFAULTS.taskWait.pollIntervalMs;
  const started = clock.now();
  const deadline = started + timeoutMs;
  const followLog = options.onLog !== undefined || options.onProgress !== undefined;
  const logEvery = options.logIntervalMs;
  let logOffset = 0;
  let lastPercent = -1;
  /** The first progress seen and the latest, for the copy's rate. */
  let firstProgress: { at: number; percent: number } | undefined;
  /** With `logHalfway`: the progress at the previous read, for the copy's latest rate. */
  let lastProgress: { at: number; percent: number } | undefined;
  /** When the copy under way should end, from its progress. */
  let eta = 0;
  const tasks = pveResources(api).tasks(node);
  const watcher = options.sharedTaskList ? taskWatcher(api, clock) : undefined;
  const signal = options.signal ? { signal: options.signal } : {};
  const learnt =
    watcher && options.durationKind !== undefined ? watcher.expectedMs(node, options.durationKind) : undefined;
  let nextCheck = started + Math.max(0, learnt ?? options.expectedMs ?? 0);
  // Until the copy's first progress line, the log is read at every poll: a caller may be waiting for
  // the copy to start (a full clone gives its storage slot back then); after it, every `logEvery`.
  let nextLog = logEvery === undefined ? Number.POSITIVE_INFINITY : started + interval;

  const readNewLog = async (): Promise<void> => {
    const lines = await tasks.log(upid, { start: logOffset, limit: 500 }, signal);
    for (const entry of lines) {
      if (entry.t === 'no content') continue;
      logOffset = Math.max(logOffset, entry.n);
      options.onLog?.(entry.t);
      const percent = parseProgressPercent(entry.t);
      if (percent !== undefined && percent !== lastPercent) {
        lastPercent = percent;
        options.onProgress?.(percent);
      }
    }
    if (lastPercent >= 100) {
      // The copy is done (or one volume of several): the task ends about now, whatever end an
      // earlier rate gave (a copy that sped up when another beside it ended reaches 100 % early).
      eta = 0;
      nextCheck = Math.min(nextCheck, clock.now());
      return;
    }
    if (lastPercent <= 0) return;
    // A copy under way: the task should end when it reaches 100 % at its rate so far.
    const now = clock.now();
    const since = options.logHalfway ? lastProgress : firstProgress;
    if (!firstProgress || lastPercent < firstProgress.percent) firstProgress = { at: now, percent: lastPercent };
    else if (since && lastPercent > since.percent && now > since.at) {
      const rate = (lastPercent - since.percent) / (now - since.at);
      eta = now + (100 - lastPercent) / rate;
      nextCheck = Math.max(now + interval, eta);
    }
    if (!lastProgress || lastPercent !== lastProgress.percent) lastProgress = { at: now, percent: lastPercent };
  };

  /** When the log is to be read next, after a read at `now`. */
  const nextLogRead = (now: number): number => {
    if (lastPercent < 0) return now + interval;
    // Halving needs the copy's rate: read again soon after its first progress (unless it stalls).
    if (options.logHalfway && eta === 0 && now - (firstProgress?.at ?? now) < (logEvery ?? interval))
      return now + interval;
    if (!options.logHalfway || eta <= now) return now + (logEvery ?? interval);
    const half = (eta - now) / 2;
    return half < interval ? Number.POSITIVE_INFINITY : now + half;
  };

  for (;;) {
    const readLog = followLog && logEvery !== undefined && nextLog < Math.min(nextCheck, deadline);
    const dueAt = Math.min(readLog ? nextLog : nextCheck, deadline);
    // A listing read for another waiter up to one interval early serves this one too.
    const early = interval;
    let status: TaskStatus | undefined;
    /** Whether the task's own status is to be read now. */
    let readStatus = !readLog;
    if (watcher) {
      // A log read's turn asks for no listing; one read for another task may still show this one ended.
      const seen = await watcher.sighting(node, upid, dueAt, { earlyMs: early, passive: readLog, api, ...signal });
      if (seen.state === 'ended' && seen.exitstatus !== undefined)
        status = { status: 'stopped', exitstatus: seen.exitstatus };
      else if (seen.state === 'running') status = { status: 'running' };
      readStatus = seen.state === 'ended' || seen.state === 'unknown';
    } else if (dueAt > clock.now()) await clock.sleep(dueAt - clock.now(), options.signal);
    if (!status && readStatus) status = await tasks.status(upid, signal);
    const now = clock.now();
    const stopped = status?.status === 'stopped';
    if (followLog && (logEvery === undefined || stopped || now >= nextLog - early)) {
      await readNewLog();
      if (logEvery !== undefined) nextLog = nextLogRead(clock.now());
    }
    if (status?.status === 'stopped') {
      const exitstatus = status.exitstatus ?? 'unexpected status';
      if (isTaskSuccess(exitstatus)) {
        if (watcher && options.durationKind !== undefined) watcher.observe(node, options.durationKind, now - started);
        if (exitstatus !== 'OK' && options.logger) {
          const warnings = (await readTaskLogTail(api, upid, 1000)).filter((line) => line.startsWith('WARN: '));
          options.logger.warn('PVE task ended with warnings', { clusterId: api.clusterId, upid, exitstatus, warnings });
        }
        return { upid, exitstatus, waitedMs: clock.now() - started };
      }
      const failed = new PveTaskFailedError({
        clusterId: api.clusterId,
        upid,
        exitstatus,
        logTail: await readTaskLogTail(api, upid),
      });
      throw classifyPveFailure(failed) ?? failed;
    }
    if (now >= deadline) {
      throw new PveTaskTimeoutError({
        clusterId: api.clusterId,
        upid,
        timeoutMs,
        logTail: await readTaskLogTail(api, upid),
      });
    }
    if (status) {
      // Still copying past the end its rate gave: its rate fell (another copy started beside it).
      if (options.logHalfway && eta > 0 && now >= eta && nextLog === Number.POSITIVE_INFINITY)
        nextLog = now + (logEvery ?? interval);
      nextCheck = Math.max(now + interval, eta);
      interval = Math.min(maxInterval, Math.round(interval * 1.5));
    }
  }
}

/** The last `lines` lines of a task's log (empty if the log cannot be read). */
export async function readTaskLogTail(api: PveApi, upid: string, lines = 20): Promise<string[]> {
  const { node } = parseUpid(upid);
  try {
    const all = await pveResources(api).tasks(node).log(upid, { start: 0, limit: 100_000 });
    return all
      .filter((e) => e.t !== 'no content')
      .slice(-lines)
      .map((e) => e.t);
  } catch {
    return [];
  }
}

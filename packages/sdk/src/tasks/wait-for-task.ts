import { PveTaskFailedError, PveTaskTimeoutError } from '../errors/pve-errors.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { isTaskSuccess, parseUpid } from './upid.js';
import { parseProgressPercent } from './task-progress.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

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
 * Waits for a PVE task to stop, polling `/nodes/{node}/tasks/{upid}/status`. Resolves only on
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
  const followLog = options.onLog !== undefined || options.onProgress !== undefined;
  let logOffset = 0;
  let lastPercent = -1;
  const tasks = pveResources(api).tasks(node);
  const signal = options.signal ? { signal: options.signal } : {};

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
  };

  for (;;) {
    const status = await tasks.status(upid, signal);
    if (followLog) await readNewLog();
    if (status.status === 'stopped') {
      const exitstatus = status.exitstatus ?? 'unexpected status';
      if (isTaskSuccess(exitstatus)) {
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
    if (clock.now() - started >= timeoutMs) {
      throw new PveTaskTimeoutError({
        clusterId: api.clusterId,
        upid,
        timeoutMs,
        logTail: await readTaskLogTail(api, upid),
      });
    }
    await clock.sleep(interval, options.signal);
    interval = Math.min(maxInterval, Math.round(interval * 1.5));
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

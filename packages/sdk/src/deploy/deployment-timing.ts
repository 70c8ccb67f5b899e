import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { settledGuest, type GuestState } from './guest-state.js';
import { expectedTaskMs, type ExpectedTask } from '../tasks/task-durations.js';

/** How a deployment waits for PVE: its clock, poll interval and deadlines. */
export interface DeploymentTiming {
  clock: Clock;
  logger: Logger;
  /** Poll interval for tasks and locks. */
  pollIntervalMs: number;
  /** Deadline of one clone, and of waiting for a guest to settle. */
  cloneTimeoutMs: number;
  /** `CloneVmOptions.lostAnswerGraceMs`; the clone's default when undefined. */
  cloneLostAnswerGraceMs?: number | undefined;
  /** How many times faster than a real cluster this one runs (a time-scaled simulator); 1 when undefined. */
  timeScale?: number | undefined;
}

/** A task's first status read waits its expected duration, but never longer than this many poll intervals. */
const MAX_FIRST_WAIT_POLLS = 20;
/** A full clone's progress (its task log) is read every this many poll intervals (5 model s in the deploy bench, which polls every 0.2). */
const PROGRESS_POLLS = 25;

/** How a copy's progress is followed: its log at most every `PROGRESS_POLLS` poll intervals, halfway to its end each time. */
function followCopy(t: DeploymentTiming) {
  return { onProgress: () => {}, logIntervalMs: PROGRESS_POLLS * t.pollIntervalMs, logHalfway: true };
}

/** The timing part of `CloneVmOptions` for a deployment's clones. */
export function cloneTiming(t: DeploymentTiming) {
  return {
    pollIntervalMs: t.pollIntervalMs,
    timeoutMs: t.cloneTimeoutMs,
    timeScale: t.timeScale ?? 1,
    sharedTaskList: true,
    progressIntervalMs: PROGRESS_POLLS * t.pollIntervalMs,
    progressHalfway: true,
    ...(t.cloneLostAnswerGraceMs !== undefined ? { lostAnswerGraceMs: t.cloneLostAnswerGraceMs } : {}),
    clock: t.clock,
    logger: t.logger,
  };
}

/**
 * `waitForTask` options for a task of a deployment that may run `timeoutMs`: followed through its
 * node's shared task list, first read after the duration `expected` gives it (at most
 * `MAX_FIRST_WAIT_POLLS` poll intervals; at once without one). A migration copies its disks at
 * the target storage's throughput, shared with every other copy to it, so how long it runs is
 * read from its progress (`transferred … (NN.NN%)` in its log): halfway to its expected end each
 * time (`logHalfway`), then its status once when it should have ended.
 */
export function taskOptions(
  t: DeploymentTiming,
  timeoutMs: number,
  expected?: ExpectedTask,
  /** Others wait for the task (a base's conversion, a copy's move): read every poll interval once due, without backing off. */
  awaited = false,
) {
  return {
    clock: t.clock,
    timeoutMs,
    pollIntervalMs: Math.min(250, t.pollIntervalMs),
    maxPollIntervalMs: (awaited ? 1 : 4) * t.pollIntervalMs,
    logger: t.logger,
    sharedTaskList: true,
    ...(expected
      ? {
          expectedMs: Math.min(expectedTaskMs(expected, t.timeScale ?? 1), MAX_FIRST_WAIT_POLLS * t.pollIntervalMs),
        }
      : {}),
    ...(expected?.kind === 'migrate' ? followCopy(t) : {}),
  };
}

/** The guest once no PVE lock holds it (on `node` when given), or undefined when it does not exist. */
export function settled(
  t: DeploymentTiming,
  api: PveApi,
  vmid: number,
  node?: string,
): Promise<GuestState | undefined> {
  return settledGuest(api, vmid, {
    clock: t.clock,
    pollIntervalMs: t.pollIntervalMs,
    deadline: t.clock.now() + t.cloneTimeoutMs,
    ...(node ? { node } : {}),
  });
}

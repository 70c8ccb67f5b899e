import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { settledGuest, type GuestState } from './guest-state.js';

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
}

/** The timing part of `CloneVmOptions` for a deployment's clones. */
export function cloneTiming(t: DeploymentTiming) {
  return {
    pollIntervalMs: t.pollIntervalMs,
    timeoutMs: t.cloneTimeoutMs,
    ...(t.cloneLostAnswerGraceMs !== undefined ? { lostAnswerGraceMs: t.cloneLostAnswerGraceMs } : {}),
    clock: t.clock,
    logger: t.logger,
  };
}

/** `waitForTask` options for a task of a deployment that may run `timeoutMs`. */
export function taskOptions(t: DeploymentTiming, timeoutMs: number) {
  return {
    clock: t.clock,
    timeoutMs,
    pollIntervalMs: Math.min(250, t.pollIntervalMs),
    maxPollIntervalMs: t.pollIntervalMs,
    logger: t.logger,
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

import type { Clock } from '../ports/clock.js';
import type { PveApi } from '../ports/pve-api.js';
import { SDK_DEFAULTS } from '../util/defaults.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { settledGuest, type GuestState } from './guest-state.js';

/** The two waits a reset or publish step does on one cluster: a guest settling, and a task ending. */
export interface GuestWaits {
  /** The guest's state once no lock is left on it (undefined when it does not exist), within the clone timeout. */
  settled: (vmid: number) => Promise<GuestState | undefined>;
  /** Waits for the task `upid` to end, for at most `timeoutMs`. */
  task: (upid: string, timeoutMs: number) => Promise<void>;
}

/** The waits of `api`, polling every `pollIntervalMs` (task polls start faster and grow to it). */
export function guestWaits(
  api: PveApi,
  deps: { clock: Clock; pollIntervalMs: number; cloneTimeoutMs: number },
): GuestWaits {
  return {
    settled: (vmid) =>
      settledGuest(api, vmid, {
        clock: deps.clock,
        pollIntervalMs: deps.pollIntervalMs,
        deadline: deps.clock.now() + deps.cloneTimeoutMs,
      }),
    task: async (upid, timeoutMs) => {
      await waitForTask(api, upid, {
        clock: deps.clock,
        timeoutMs,
        pollIntervalMs: Math.min(SDK_DEFAULTS.taskWait.pollIntervalMs, deps.pollIntervalMs),
        maxPollIntervalMs: deps.pollIntervalMs,
      });
    },
  };
}

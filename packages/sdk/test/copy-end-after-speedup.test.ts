import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/ports/clock.js';
import type { PveApi, PveParams } from '../src/ports/pve-api.js';
import { waitForTask } from '../src/pve/index.js';

const UPID = 'UPID:pve1:00001000:10000000:00000000:qmigrate:102:root@pam:';

/** A clock whose sleeps pass at once, in model time only. */
function virtualClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += Math.max(0, ms);
    },
  };
  return clock;
}

/**
 * A migration whose copy runs at 1 %/s for 30 s (it shares its target storage with another copy),
 * then, the other copy done, at 10 %/s to its end at 37 s; the task ends with its copy.
 */
function migrationApi(clock: Clock, reads: { status: number[] }): PveApi {
  const percentAt = (s: number) => (s <= 30 ? s : Math.min(100, 30 + (s - 30) * 10));
  const endS = 37;
  const fail = () => Promise.reject(new Error('not scripted'));
  return {
    clusterId: 'lab',
    get: async <T>(path: string, params?: PveParams) => {
      const s = clock.now() / 1000;
      if (path.endsWith('/log')) {
        const lines = [];
        for (let i = 1; i <= Math.floor(Math.min(s, endS)); i++)
          lines.push(`transferred … (${percentAt(i).toFixed(2)}%)`);
        if (s >= endS) lines.push('TASK OK');
        const start = Number(params?.start ?? 0);
        return lines.slice(start).map((t, i) => ({ n: start + i + 1, t })) as T;
      }
      if (path.endsWith('/status')) {
        reads.status.push(s);
        return (
          s >= endS
            ? { upid: UPID, node: 'pve1', status: 'stopped', exitstatus: 'OK' }
            : { upid: UPID, node: 'pve1', status: 'running' }
        ) as T;
      }
      return fail();
    },
    post: fail,
    put: fail,
    delete: fail,
  };
}

describe('a copy followed by its progress', () => {
  it('is seen ended soon after its log reaches 100 %, not at the later end its earlier, slower rate gave', async () => {
    const clock = virtualClock();
    const reads = { status: [] as number[] };
    await waitForTask(migrationApi(clock, reads), UPID, {
      clock,
      pollIntervalMs: 200,
      maxPollIntervalMs: 800,
      expectedMs: 3000,
      onProgress: () => {},
      logIntervalMs: 2000,
      logHalfway: true,
    });
    // At 1 %/s the end looked 70 s away at 30 s: read halfway (at ~65 s) and then at 100 s. The
    // copy sped up and ended at 37 s; the first log read after it shows 100 % and the status is read then.
    const endSeenAt = clock.now() / 1000;
    expect(endSeenAt).toBeLessThan(70);
    expect(reads.status.at(-1)).toBeLessThan(70);
  });
});

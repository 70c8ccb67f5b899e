import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { TemplateScanSchedule, type Clock, type ProxmoxClient, type Store } from '../src/index.js';
import { clientFor, fastSim } from './helpers.js';
import { createMemoryStore } from '../src/testing/index.js';

/** A clock that moves only when the test says so. */
function manualClock(start: number) {
  let now = start;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        sleepers.push({ at: now + ms, resolve });
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
  return {
    clock,
    sleeping: () => sleepers.length,
    advance(ms: number) {
      now += ms;
      for (const s of sleepers.splice(0).filter((x) => (x.at <= now ? (x.resolve(), false) : true))) sleepers.push(s);
    },
  };
}

// A scan reads the simulator over HTTPS; on a busy 2-core machine that takes longer than waitFor's 1 s.
const SCAN_WAIT = { timeout: 30_000 };

let sim: PveSim;
let api: ProxmoxClient;
let store: Store;
beforeEach(async () => {
  sim = await fastSim({ timeScale: 400 });
  api = clientFor(sim);
  store = createMemoryStore();
});
afterEach(async () => {
  await api.close();
  await sim.close();
});

describe('the periodic template scan', () => {
  it('runs only while this process leads, once per interval (30 min by default), on the injected clock', async () => {
    const time = manualClock(1_700_000_000_000);
    let leader = false;
    let scans = 0;
    const schedule = new TemplateScanSchedule({
      store,
      clusters: { get: () => api, ids: () => ['lab'] },
      clock: time.clock,
      isLeader: () => leader,
      onReport: () => scans++,
    });
    schedule.start();
    await vi.waitFor(() => expect(time.sleeping()).toBe(1), SCAN_WAIT);
    time.advance(3_600_000);
    await vi.waitFor(() => expect(time.sleeping()).toBe(1), SCAN_WAIT);
    expect(scans).toBe(0);
    expect(await store.templateInventory.list()).toEqual([]);

    leader = true;
    time.advance(30_000);
    await vi.waitFor(() => expect(scans).toBe(1), SCAN_WAIT);
    expect((await store.templateInventory.list()).length).toBeGreaterThan(0);
    expect(schedule.lastScanAt).toBe(time.clock.now());
    for (let i = 0; i < 59; i++) {
      await vi.waitFor(() => expect(time.sleeping()).toBe(1), SCAN_WAIT);
      time.advance(30_000);
    }
    await vi.waitFor(() => expect(time.sleeping()).toBe(1), SCAN_WAIT);
    expect(scans).toBe(1);
    time.advance(30_000);
    await vi.waitFor(() => expect(scans).toBe(2), SCAN_WAIT);
    await schedule.stop();
  });
});

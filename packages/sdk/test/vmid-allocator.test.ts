import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { allocateVmid } from '../src/cloning/vmid-allocator.js';
import type { ProxmoxClient } from '../src/index.js';
import { clientFor, fastSim } from './helpers.js';

let sim: PveSim | undefined;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  await sim?.close();
  api = undefined;
  sim = undefined;
});

describe('allocateVmid', () => {
  it('gives clones of one process that ask at the same moment different VMIDs', async () => {
    sim = await fastSim();
    api = clientFor(sim);
    // All six get the same answer from nextid; five move on to the next ids and check them at once.
    const reservations = await Promise.all(Array.from({ length: 6 }, () => allocateVmid(api!)));
    const ids = reservations.map((r) => r.vmid);
    expect(new Set(ids).size).toBe(6);
    for (const r of reservations) r.release();
    // Released ids are handed out again.
    const again = await allocateVmid(api);
    expect(ids).toContain(again.vmid);
    again.release();
  });
});

import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { ConfigError } from '../src/errors/index.js';
import { SyncEngine, VmPower, type ClusterApis, type Viewer } from '../src/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();
const admin: Viewer = { personId: null, username: 'root', role: 'admin' };

/** A one-node cluster with `count` stopped 512 MiB VMs (VMIDs 1000…). */
async function oneNode(count: number): Promise<PveSim> {
  return fastSim({
    scenario: {
      cluster: 'storm',
      nodes: [{ name: 'pve1', cpus: 32, memoryGiB: 128 }],
      storages: [{ id: 'local-lvm', type: 'lvmthin', shared: false, sizeGiB: 1000, throughputMBps: 400 }],
      generate: {
        count,
        vmidStart: 1000,
        storage: 'local-lvm',
        runningFraction: 0,
        windowsFraction: 0,
        lxcFraction: 0,
      },
      users: [{ userid: 'root@pam', password: 'pve-sim' }],
    },
  });
}

describe('power actions under a storm', () => {
  it('never run more than maxPowerTasksPerNode start tasks on one node at once, and start every VM', async () => {
    const sim = track(await oneNode(9));
    const api = track(clientFor(sim));
    const clusters: ClusterApis = { get: () => api, ids: () => ['lab'] };
    const store = createMemoryStore();
    await new SyncEngine({ store, clusters: { get: () => api, ids: () => ['lab'] } }).fullSync();
    let most = 0;
    const running = () =>
      [...sim.state.tasks.tasks.values()].filter((t) => t.type === 'qmstart' && t.status === 'running').length;
    const watcher = setInterval(() => (most = Math.max(most, running())), 1);
    try {
      const power = new VmPower({ store, clusters, pollIntervalMs: 20, maxPowerTasksPerNode: 2 });
      const results = await Promise.all(
        Array.from({ length: 9 }, (_, i) => power.perform(admin, 'lab', 1000 + i, 'start')),
      );
      expect(results.map((r) => r.status)).toEqual(Array(9).fill('running'));
    } finally {
      clearInterval(watcher);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect([...sim.state.guests.values()].filter((g) => g.status === 'running')).toHaveLength(9);
  });

  it('refuses a limit below one', () => {
    expect(
      () =>
        new VmPower({
          store: createMemoryStore(),
          clusters: {
            get: () => {
              throw new Error('unused');
            },
            ids: () => [],
          },
          maxPowerTasksPerNode: 0,
        }),
    ).toThrow(ConfigError);
  });
});

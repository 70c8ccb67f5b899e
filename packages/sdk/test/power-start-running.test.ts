import { describe, expect, it } from 'vitest';
import { SyncEngine, VmPower, type ClusterApis, type Viewer } from '../src/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();
const admin: Viewer = { personId: null, username: 'root', role: 'admin' };

describe('starting a VM that already runs', () => {
  it('is done, not a Proxmox refusal: a second start (a double click, a stale page) says it runs', async () => {
    const sim = track(
      await fastSim({
        scenario: {
          cluster: 'lab',
          nodes: [{ name: 'pve1', cpus: 8, memoryGiB: 32 }],
          storages: [{ id: 'local-lvm', type: 'lvmthin', shared: false, sizeGiB: 100, throughputMBps: 400 }],
          generate: {
            count: 1,
            vmidStart: 1000,
            storage: 'local-lvm',
            runningFraction: 0,
            windowsFraction: 0,
            lxcFraction: 0,
          },
          users: [{ userid: 'root@pam', password: 'pve-sim' }],
        },
      }),
    );
    const api = track(clientFor(sim));
    const clusters: ClusterApis = { get: () => api, ids: () => ['lab'] };
    const store = createMemoryStore();
    await new SyncEngine({ store, clusters }).fullSync();
    const power = new VmPower({ store, clusters, pollIntervalMs: 20 });

    await expect(power.perform(admin, 'lab', 1000, 'start')).resolves.toMatchObject({ status: 'running' });
    // The store still says stopped (a page loaded before the first start), so PVE is asked again.
    await store.inventory.update('lab', 1000, { status: 'stopped' });
    await expect(power.perform(admin, 'lab', 1000, 'start')).resolves.toMatchObject({ status: 'running' });

    expect((await store.inventory.get('lab', 1000))?.status).toBe('running');
    const starts = (await store.audit.list({ limit: 100 })).filter((a) => a.action === 'vm.start');
    expect(starts.map((a) => a.outcome)).toEqual(['ok', 'ok']);
    expect(starts.some((a) => a.details?.alreadyRunning === true)).toBe(true);
  });
});

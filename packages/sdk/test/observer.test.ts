import { describe, expect, it } from 'vitest';
import type { ClusterSyncReport, PveRequestRecord } from '../src/index.js';
import { pveEndpointTemplate } from '../src/ports/lab-observer.js';
import { SyncEngine, Clusters } from '../src/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';
import { createMemoryStore } from '../src/testing/index.js';

const { track } = closeAfterEach();

describe('the LabObserver port', () => {
  it('reduces PVE paths to endpoint templates with a bounded set of values', () => {
    expect(pveEndpointTemplate('/nodes/pve1/qemu/104/status/start')).toBe('/nodes/{node}/qemu/{vmid}/status/start');
    expect(
      pveEndpointTemplate('/nodes/pve-2/tasks/UPID:pve-2:0000A1B2:0001C3D4:6744F1A0:qmclone:104:root@pam:/status'),
    ).toBe('/nodes/{node}/tasks/{upid}/status');
    expect(pveEndpointTemplate('/cluster/resources?type=vm')).toBe('/cluster/resources');
    expect(pveEndpointTemplate('/nodes/pve1/storage/local-lvm/content')).toBe(
      '/nodes/{node}/storage/{storage}/content',
    );
    expect(pveEndpointTemplate('/access/users/lab@pve/token/bot')).toBe('/access/users/{userid}/token/{tokenid}');
    expect(pveEndpointTemplate('/pools/cs101')).toBe('/pools/{pool}');
    expect(pveEndpointTemplate('/cluster/nextid')).toBe('/cluster/nextid');
  });

  it('hears of every exchange of a client — answers, HTTP errors and retried attempts — and an observer that throws breaks nothing', async () => {
    const sim = track(await fastSim());
    const seen: PveRequestRecord[] = [];
    const client = track(
      clientFor(sim, {
        observer: {
          pveRequest: (r) => {
            seen.push(r);
            throw new Error('observer bug');
          },
        },
      }),
    );
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'http-503', count: 1 });
    await client.get('/nodes');
    await client.get('/nodes/pve1/qemu/100/config').catch(() => undefined);
    const nodes = seen.filter((r) => r.endpoint === '/nodes');
    expect(nodes.map((r) => r.status)).toEqual([503, 200]);
    expect(
      nodes.every((r) => r.clusterId === 'lab' && r.method === 'GET' && r.durationMs >= 0 && r.errorCode === null),
    ).toBe(true);
    expect(seen.at(-1)).toMatchObject({ endpoint: '/nodes/{node}/qemu/{vmid}/config', method: 'GET' });
  });

  it('reports a request that got no answer with its error code', async () => {
    const sim = track(await fastSim());
    const seen: PveRequestRecord[] = [];
    const client = track(clientFor(sim, { observer: { pveRequest: (r) => seen.push(r) }, retry: { maxAttempts: 1 } }));
    sim.faults.add({ method: 'GET', path: '/version', kind: 'reset-after', count: 1 });
    await expect(client.get('/version')).rejects.toThrow();
    expect(seen).toEqual([
      expect.objectContaining({ endpoint: '/version', status: null, errorCode: 'LAB_PVE_CONNECTION' }),
    ]);
  });

  it('hears of every cluster sync of a SyncEngine', async () => {
    const sim = track(await fastSim());
    const reports: ClusterSyncReport[] = [];
    const clusters = track(
      new Clusters([
        { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
      ]),
    );
    const engine = new SyncEngine({
      store: createMemoryStore(),
      clusters,
      observer: { syncFinished: (r) => reports.push(r) },
    });
    await engine.fullSync();
    await engine.quickSync();
    expect(reports.map((r) => [r.clusterId, r.kind, r.ok])).toEqual([
      ['lab', 'full', true],
      ['lab', 'quick', true],
    ]);
    expect(reports[0]!.vms).toBeGreaterThan(0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '../src/index.js';
import { call, fastSim } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

async function outcomes(s: PveSim, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call(s, 'GET', '/nodes')).status);
  return out;
}

describe('fault injection and the control API', () => {
  it('injects HTTP faults at a rate, reproducibly for a given seed', async () => {
    sim = await fastSim({ seed: 42 });
    sim.faults.add({ path: '/nodes', kind: 'http-596', rate: 0.3 });
    const first = await outcomes(sim, 40);
    await sim.close();
    sim = await fastSim({ seed: 42 });
    sim.faults.add({ path: '/nodes', kind: 'http-596', rate: 0.3 });
    const second = await outcomes(sim, 40);
    expect(second).toEqual(first);
    const failures = first.filter((s) => s === 596).length;
    expect(failures).toBeGreaterThan(3);
    expect(failures).toBeLessThan(25);
  });

  it('limits a fault to a count and matches by method', async () => {
    sim = await fastSim();
    sim.faults.add({
      method: 'GET',
      path: '/nodes',
      kind: 'http-500',
      count: 2,
      message: "can't lock file '/var/lock/qemu-server/lock-203.conf' - got timeout",
    });
    const r = await call(sim, 'GET', '/nodes');
    expect(r.status).toBe(500);
    expect(r.reason).toBe("can't lock file '/var/lock/qemu-server/lock-203.conf' - got timeout");
    expect(await outcomes(sim, 3)).toEqual([500, 200, 200]);
  });

  it('can reset the connection before or after the request took effect', async () => {
    sim = await fastSim();
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/start', kind: 'reset-after', count: 1 });
    await expect(call(sim, 'POST', '/nodes/pve3/qemu/102/status/start')).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(sim.state.tasks.running().some((t) => t.type === 'qmstart' && t.id === '102')).toBe(true);
    sim.faults.add({ method: 'GET', path: '/version', kind: 'reset', count: 1 });
    await expect(call(sim, 'GET', '/version')).rejects.toThrow();
  });

  it('serves malformed and wrong-shaped bodies when told to', async () => {
    sim = await fastSim();
    sim.faults.add({ path: '/nodes', kind: 'malformed-json', count: 1 });
    await expect(call(sim, 'GET', '/nodes')).rejects.toThrow(/JSON/);
  });

  it('changes, removes and repeats fields of matching list entries for patch-entries faults', async () => {
    sim = await fastSim();
    sim.faults.add({
      path: '/cluster/resources',
      kind: 'patch-entries',
      count: 1,
      patch: { where: { vmid: 101 }, set: { vmid: 101.5 }, unset: ['status'], duplicate: true },
    });
    const guests = (r: { body: { data?: unknown } }) =>
      (r.body.data as Array<Record<string, unknown>>).filter((e) => e.type === 'qemu' || e.type === 'lxc');
    const patched = guests(await call(sim, 'GET', '/cluster/resources'));
    expect(patched.filter((e) => e.vmid === 101.5)).toHaveLength(2);
    expect(patched.find((e) => e.vmid === 101.5)).not.toHaveProperty('status');
    expect(patched.some((e) => e.vmid === 101)).toBe(false);
    const next = guests(await call(sim, 'GET', '/cluster/resources'));
    expect(next.filter((e) => e.vmid === 101)).toHaveLength(1);
    expect(() => sim.faults.add({ kind: 'patch-entries' })).toThrow(/patch/);
  });

  it('counts requests per endpoint and the peak in flight', async () => {
    sim = await fastSim();
    sim.requests.reset();
    await Promise.all([
      call(sim, 'GET', '/nodes'),
      call(sim, 'GET', '/nodes'),
      call(sim, 'GET', '/nodes/pve1/qemu/100/config'),
    ]);
    expect(sim.requests.count('GET /nodes')).toBe(2);
    expect(sim.requests.count('GET /nodes/{node}/qemu/{vmid}/config')).toBe(1);
    expect(sim.requests.total).toBe(3);
    expect(sim.requests.maxInFlight).toBeGreaterThanOrEqual(1);
  });

  it('offers the same controls over HTTP under /_sim/', async () => {
    sim = await fastSim();
    const { Agent, request } = await import('node:https');
    const agent = new Agent({ ca: sim.ca });
    const control = (method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; json: unknown }>((resolve, reject) => {
        const req = request(
          `${sim.url}/_sim${path}`,
          { method, agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    expect((await control('GET', '/state')).json).toMatchObject({ cluster: 'lab-small', guests: 9, templates: 5 });
    expect((await control('POST', '/faults', { kind: 'http-503', path: '/version', count: 1 })).status).toBe(200);
    expect((await call(sim, 'GET', '/version')).status).toBe(503);
    expect((await control('POST', '/faults', { kind: 'explode' })).status).toBe(400);
    await control('POST', '/nodes/pve3/offline');
    expect((await call(sim, 'GET', '/nodes/pve3/status')).status).toBe(595);
    const requests = (await control('GET', '/requests')).json as { total: number; byEndpoint: Record<string, number> };
    expect(requests.byEndpoint['GET /version']).toBe(1);
    agent.destroy();
  });
});

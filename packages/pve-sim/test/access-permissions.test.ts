import { Agent, request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { AllPrivileges, type PveSim } from '../src/index.js';
import { call, fastSim } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

function control(method: string, path: string, body?: unknown): Promise<number> {
  const agent = new Agent({ ca: sim.ca });
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}/_sim${path}`, { method, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => {
        agent.destroy();
        resolve(res.statusCode!);
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('GET /access/permissions', () => {
  it("answers the admin token with every privilege, propagated, in PVE's path → privilege → flag shape", async () => {
    sim = await fastSim();
    const r = await call(sim, 'GET', '/access/permissions');
    expect(r.status).toBe(200);
    const data = r.body.data as Record<string, Record<string, number>>;
    expect(Object.keys(data)).toEqual(expect.arrayContaining(['/', '/vms', '/storage', '/nodes', '/sdn']));
    expect(Object.keys(data['/']!).sort()).toEqual([...AllPrivileges].sort());
    expect(data['/vms']).toMatchObject({ 'VM.Clone': 1, 'VM.Config.Cloudinit': 1, 'VM.PowerMgmt': 1 });
    expect((await call(sim, 'GET', '/access/permissions', { params: { path: '/vms/100' } })).body.data).toEqual({ '/vms/100': data['/'] });
    expect((await call(sim, 'GET', '/access/permissions', { params: { userid: 'not a user' } })).status).toBe(400);
  });

  it('answers a recorded, reduced set set over the control API, until it is cleared', async () => {
    sim = await fastSim();
    const reduced = { '/': { 'Sys.Audit': 1 }, '/vms': { 'VM.Audit': 1, 'VM.PowerMgmt': 1 } };
    expect(await control('POST', '/permissions', reduced)).toBe(200);
    expect((await call(sim, 'GET', '/access/permissions')).body.data).toEqual(reduced);
    expect((await call(sim, 'GET', '/access/permissions', { params: { path: '/storage' } })).body.data).toEqual({});
    expect(await control('DELETE', '/permissions')).toBe(200);
    expect(((await call(sim, 'GET', '/access/permissions')).body.data as Record<string, Record<string, number>>)['/vms']).toHaveProperty('VM.Clone', 1);
  });
});

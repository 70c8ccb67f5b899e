import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PveSim } from '../src/index.js';
import { call, fastSim } from './helpers.js';

let sim: PveSim;
beforeAll(async () => {
  sim = await fastSim();
});
afterAll(() => sim.close());

describe('the simulator checks every request against the PVE API schema', () => {
  it('refuses an unknown parameter with 400 and PVE errors map', async () => {
    const r = await call(sim, 'GET', '/cluster/resources', { params: { kind: 'vm' } });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    expect(r.body.errors).toEqual({
      kind: 'property is not defined in schema and the schema does not allow additional properties',
    });
    expect(r.body.data).toBeNull();
  });

  it('refuses a value outside an enum', async () => {
    const r = await call(sim, 'GET', '/cluster/resources', { params: { type: 'vms' } });
    expect(r.status).toBe(400);
    expect(r.body.errors?.type).toBe("value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'");
  });

  it('refuses an ill-typed path parameter', async () => {
    const r = await call(sim, 'GET', '/nodes/pve1/qemu/abc/config');
    expect(r.status).toBe(400);
    expect(r.body.errors?.vmid).toBe("type check ('integer') failed - got 'abc'");
  });

  it('refuses a missing required parameter and an out-of-range one', async () => {
    const missing = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { name: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors?.newid).toBe('property is missing and it is not optional');
    const low = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 50 } });
    expect(low.body.errors?.newid).toBe('value must have a minimum value of 100');
  });

  it('answers 501 for a path PVE does not have', async () => {
    const r = await call(sim, 'GET', '/nodes/pve1/qemu/100/nonsense');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'GET /api2/json/nodes/pve1/qemu/100/nonsense' not implemented");
  });

  it('answers 501 for a method a path does not have', async () => {
    const r = await call(sim, 'DELETE', '/cluster/resources');
    expect(r.status).toBe(501);
  });

  it('records every refused request so SDK tests can assert there were none', async () => {
    const before = sim.requests.schemaViolations.length;
    await call(sim, 'GET', '/version', { params: { verbose: 1 } });
    expect(sim.requests.schemaViolations.length).toBe(before + 1);
    expect(sim.requests.schemaViolations.at(-1)).toMatchObject({ method: 'GET', path: '/version', status: 400 });
  });
});

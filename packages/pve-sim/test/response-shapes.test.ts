import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReturnShape, loadSchemaIndex, type PveSim } from '../src/index.js';
import { call, fastSim, waitTask } from './helpers.js';
import { recordedShapes } from './recorded-pve-shapes.js';

let sim: PveSim;
let upid: string;
beforeAll(async () => {
  sim = await fastSim();
  upid = (await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 900, name: 'shape-check' } })).body
    .data as string;
  await waitTask(sim, upid);
});
afterAll(() => sim.close());

const schema = loadSchemaIndex();

async function checked(template: string, path: string, params?: Record<string, string | number>): Promise<unknown> {
  const r = await call(sim, 'GET', path, params ? { params } : {});
  expect(r.status, `${path}: ${r.reason}`).toBe(200);
  const returns = schema.byTemplate(template)!.methods.GET!.returns;
  expect(checkReturnShape(returns, r.body.data)).toEqual([]);
  return r.body.data;
}

describe('simulated answers have the fields and types PVE returns', () => {
  it.each([
    ['/version', '/version'],
    ['/cluster/status', '/cluster/status'],
    ['/cluster/resources', '/cluster/resources'],
    ['/nodes', '/nodes'],
    ['/nodes/{node}/status', '/nodes/pve1/status'],
    ['/nodes/{node}/storage', '/nodes/pve1/storage'],
    ['/nodes/{node}/qemu', '/nodes/pve1/qemu'],
    ['/nodes/{node}/lxc', '/nodes/pve2/lxc'],
    ['/nodes/{node}/qemu/{vmid}/config', '/nodes/pve1/qemu/900/config'],
    ['/nodes/{node}/qemu/{vmid}/status/current', '/nodes/pve1/qemu/100/status/current'],
    ['/nodes/{node}/lxc/{vmid}/status/current', '/nodes/pve2/lxc/200/status/current'],
    ['/nodes/{node}/tasks', '/nodes/pve1/tasks'],
  ])('GET %s matches the schema', async (template, path) => {
    await checked(template, path);
  });

  it('task status and log match the schema', async () => {
    await checked('/nodes/{node}/tasks/{upid}/status', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
    await checked('/nodes/{node}/tasks/{upid}/log', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`);
  });

  it('carries at least the keys recorded from real PVE, with the same JSON types', async () => {
    for (const shape of recordedShapes) {
      const r = await call(sim, 'GET', shape.path);
      expect(r.status, shape.path).toBe(200);
      const data = shape.pick(r.body.data);
      for (const [key, type] of Object.entries(shape.keys)) {
        const value = (data as Record<string, unknown>)[key];
        expect(value, `${shape.path} → ${key}`).not.toBeUndefined();
        expect(Array.isArray(value) ? 'array' : typeof value, `${shape.path} → ${key}`).toBe(type);
      }
    }
  });
});

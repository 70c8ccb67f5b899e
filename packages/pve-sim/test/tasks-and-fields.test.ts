import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '../src/index.js';
import { call, fastSim, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

describe('tasks and fields as pve-manager answers them', () => {
  it('lists finished tasks by default with total, and running ones with source=active; token tasks carry tokenid (PVE/API2/Tasks.pm)', async () => {
    sim = await fastSim({ timeScale: 20 });
    const running = (await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 800 } })).body
      .data as string;
    const archive = await call(sim, 'GET', '/nodes/pve1/tasks');
    expect(archive.status).toBe(200);
    expect(archive.body.data).toEqual([]);
    expect((archive.body as { total?: number }).total).toBe(0);
    const active = (await call(sim, 'GET', '/nodes/pve1/tasks', { params: { source: 'active' } })).body.data as Array<
      Record<string, unknown>
    >;
    expect(active).toEqual([
      expect.objectContaining({
        upid: running,
        user: 'root@pam',
        tokenid: 'pve-sim',
        type: 'qmclone',
        id: '9000',
        status: 'RUNNING',
      }),
    ]);
    await waitTask(sim, running);
    const done = await call(sim, 'GET', '/nodes/pve1/tasks');
    expect((done.body as { total?: number }).total).toBe(1);
    expect((done.body.data as Array<Record<string, unknown>>)[0]).toMatchObject({ status: 'OK', tokenid: 'pve-sim' });
  });

  it('lists active tasks oldest first, then the archive most recently ended first, with its filters (PVE/API2/Tasks.pm node_tasks)', async () => {
    sim = await fastSim({ timeScale: 20 });
    const clone = async (newid: number) =>
      (await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid } })).body.data as string;
    const first = await clone(801);
    const second = await clone(802);
    const list = async (params: Record<string, string | number>) =>
      (await call(sim, 'GET', '/nodes/pve1/tasks', { params })).body as {
        data: Array<{ upid: string; status?: string; endtime?: number }>;
        total: number;
      };
    expect((await list({ source: 'active' })).data.map((t) => t.upid)).toEqual([first, second]);
    await waitTask(sim, first);
    // A finished task leaves the active list (active_workers archives it when its worker is reaped).
    expect((await list({ source: 'active' })).data.map((t) => t.upid)).not.toContain(first);
    await waitTask(sim, second);
    const third = await clone(803);
    const all = await list({ source: 'all' });
    expect(all.data.map((t) => [t.upid, t.status])).toEqual([
      [third, 'RUNNING'],
      [second, 'OK'],
      [first, 'OK'],
    ]);
    expect(all.total).toBe(3);
    expect((await list({ source: 'all', statusfilter: 'ok' })).data.map((t) => t.upid)).toEqual([second, first]);
    // errors=1 drops only the `ok` ones: a running task has no status yet (`unknown`).
    expect((await list({ source: 'all', errors: 1 })).data.map((t) => t.upid)).toEqual([third]);
    expect((await list({ source: 'all', userfilter: 'ROOT' })).total).toBe(3);
    expect((await list({ source: 'all', userfilter: 'nobody' })).total).toBe(0);
    const started = all.data.map((t) => Number.parseInt(t.upid.split(':')[4]!, 16));
    expect((await list({ source: 'all', since: Math.max(...started) + 1 })).total).toBe(0);
    expect((await list({ source: 'all', limit: 1, start: 1 })).data.map((t) => t.upid)).toEqual([second]);
    await waitTask(sim, third);
  });

  it('answers an unknown UPID with 400 no such task', async () => {
    sim = await fastSim();
    const r = await call(
      sim,
      'GET',
      `/nodes/pve1/tasks/${encodeURIComponent('UPID:pve1:00001234:10001234:65000000:qmstart:100:root@pam:')}/status`,
    );
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ upid: 'no such task' });
  });

  it('reports qmpstatus in guest lists only with full=1, a 16-hex repoid, and pools with their usage', async () => {
    sim = await fastSim({
      scenario: { ...structuredClone((await import('../src/index.js')).presets.small!), pools: ['lab'] },
    });
    sim.state.guests.get(100)!.pool = 'lab';
    const plain = (await call(sim, 'GET', '/nodes/pve1/qemu')).body.data as Array<Record<string, unknown>>;
    expect(plain[0]).not.toHaveProperty('qmpstatus');
    const full = (await call(sim, 'GET', '/nodes/pve1/qemu', { params: { full: 1 } })).body.data as Array<
      Record<string, unknown>
    >;
    expect(full[0]).toHaveProperty('qmpstatus');
    expect(((await call(sim, 'GET', '/version')).body.data as { repoid: string }).repoid).toMatch(/^[0-9a-f]{16}$/);
    const resources = (await call(sim, 'GET', '/cluster/resources')).body.data as Array<Record<string, unknown>>;
    expect(resources.find((r) => r.type === 'pool')).toMatchObject({
      id: '/pool/lab',
      pool: 'lab',
      maxmem: 1024 * 1024 ** 2,
    });
    expect(resources.find((r) => r.id === 'qemu/100')).toMatchObject({ pool: 'lab', memhost: expect.any(Number) });
    expect((await call(sim, 'GET', '/pools/lab')).body.data).toMatchObject({
      members: [expect.objectContaining({ vmid: 100 })],
    });
  });

  it('shows a new VM without name, template and usage until the status round after its creation (pve-manager API2Tools.pm extract_vm_stats)', async () => {
    sim = await fastSim({ timeScale: 10 });
    const upid = (await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 810, name: 'fresh-one' } }))
      .body.data as string;
    let entry: Record<string, unknown> | undefined;
    while (!entry)
      entry = (
        (await call(sim, 'GET', '/cluster/resources', { params: { type: 'vm' } })).body.data as Array<
          Record<string, unknown>
        >
      ).find((r) => r.vmid === 810);
    if (sim.state.isFresh(sim.state.guests.get(810)!)) {
      expect(Object.keys(entry).sort()).toEqual(['id', 'lock', 'node', 'status', 'type', 'vmid']);
      expect(entry.status).toBe('unknown');
    }
    await waitTask(sim, upid);
    while (sim.state.isFresh(sim.state.guests.get(810)!)) await new Promise((r) => setTimeout(r, 50));
    const later = (
      (await call(sim, 'GET', '/cluster/resources', { params: { type: 'vm' } })).body.data as Array<
        Record<string, unknown>
      >
    ).find((r) => r.vmid === 810);
    expect(later).toMatchObject({ name: 'fresh-one', template: 0, status: 'stopped' });
  });
});

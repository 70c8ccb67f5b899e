import { afterEach, describe, expect, it } from 'vitest';
import { generatedCloudinit, type PveSim } from '../src/index.js';
import { call, fastSim, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

describe('snapshots behave like qemu-server snapshots', () => {
  it('are taken, listed before "current", cloned from, rolled back and deleted as tasks holding their locks', async () => {
    sim = await fastSim({ timeScale: 20 });
    const cloned = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 600, name: 'work' } });
    await waitTask(sim, cloned.body.data as string);
    // The snapshot task holds its lock until simulated time runs on.
    sim.time.pause();
    const take = await call(sim, 'POST', '/nodes/pve1/qemu/600/snapshot', {
      params: { snapname: 'before', description: 'clean' },
    });
    expect(take.body.data).toMatch(/:qmsnapshot:600:/);
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/600/config')).body.data).toMatchObject({ lock: 'snapshot' });
    const start = await call(sim, 'POST', '/nodes/pve1/qemu/600/status/start');
    expect(await waitTask(sim, start.body.data as string)).toMatchObject({ exitstatus: 'VM is locked (snapshot)' });
    sim.time.resume();
    await waitTask(sim, take.body.data as string);
    expect((await call(sim, 'POST', '/nodes/pve1/qemu/600/snapshot', { params: { snapname: 'before' } })).reason).toBe(
      "snapshot name 'before' already used",
    );
    const list = (await call(sim, 'GET', '/nodes/pve1/qemu/600/snapshot')).body.data as Array<Record<string, unknown>>;
    expect(list.map((s) => s.name)).toEqual(['before', 'current']);
    expect(list[1]).toMatchObject({ parent: 'before' });

    expect(
      (await call(sim, 'POST', '/nodes/pve1/qemu/600/clone', { params: { newid: 601, full: 1, snapname: 'nope' } }))
        .reason,
    ).toBe("snapshot 'nope' does not exist");
    const fromSnap = await call(sim, 'POST', '/nodes/pve1/qemu/600/clone', {
      params: { newid: 601, name: 'copy', full: 1, snapname: 'before' },
    });
    expect(await waitTask(sim, fromSnap.body.data as string)).toMatchObject({ exitstatus: 'OK' });

    await call(sim, 'PUT', '/nodes/pve1/qemu/600/config', { params: { memory: 4096 } });
    sim.time.pause();
    const rollback = await call(sim, 'POST', '/nodes/pve1/qemu/600/snapshot/before/rollback');
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/600/config')).body.data).toMatchObject({ lock: 'rollback' });
    sim.time.resume();
    await waitTask(sim, rollback.body.data as string);
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/600/config')).body.data).toMatchObject({ memory: '2048' });
    const del = await call(sim, 'DELETE', '/nodes/pve1/qemu/600/snapshot/before');
    await waitTask(sim, del.body.data as string);
    expect(((await call(sim, 'GET', '/nodes/pve1/qemu/600/snapshot')).body.data as unknown[]).length).toBe(1);
    expect((await call(sim, 'POST', '/nodes/pve1/qemu/9000/snapshot', { params: { snapname: 'x' } })).reason).toBe(
      "you can't take a snapshot if it's a template",
    );
  });
});

describe('cloud-init', () => {
  it('keeps sshkeys URL-encoded as sent, lists pending values and regenerates the drive on PUT …/cloudinit', async () => {
    sim = await fastSim({ timeScale: 20 });
    const cloned = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 610, name: 'ci' } });
    await waitTask(sim, cloned.body.data as string);
    const encoded = encodeURIComponent(
      `ssh-ed25519 ${Buffer.from('\0\0\0\x0bssh-ed25519').toString('base64')}AAAA me@x`,
    );
    expect(
      (await call(sim, 'PUT', '/nodes/pve1/qemu/610/config', { params: { ciuser: 'alice', sshkeys: encoded } })).status,
    ).toBe(200);
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/610/config')).body.data).toMatchObject({
      ciuser: 'alice',
      sshkeys: encoded,
    });
    const pending = (await call(sim, 'GET', '/nodes/pve1/qemu/610/cloudinit')).body.data as Array<
      Record<string, unknown>
    >;
    expect(pending).toContainEqual({ key: 'ciuser', pending: 'alice' });
    expect((await call(sim, 'PUT', '/nodes/pve1/qemu/610/cloudinit')).status).toBe(200);
    expect(generatedCloudinit(sim.state.guests.get(610)!)).toMatchObject({
      ciuser: 'alice',
      sshkeys: encoded,
      name: 'ci',
    });
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/610/cloudinit')).body.data).toContainEqual({
      key: 'ciuser',
      value: 'alice',
    });
  });
});

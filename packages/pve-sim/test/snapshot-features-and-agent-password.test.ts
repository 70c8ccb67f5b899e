import { afterEach, describe, expect, it } from 'vitest';
import { passwordsSetIn, presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

/** The small preset plus a ZFS pool and a raw directory storage, with one VM on each. */
function withStorages() {
  const scenario = structuredClone(presets.small!);
  scenario.storages = [
    ...(scenario.storages ?? []),
    { id: 'tank', type: 'zfspool', nodes: ['pve1'] },
    { id: 'rawdir', type: 'dir', nodes: ['pve1'], format: 'raw' },
  ];
  scenario.guests = [
    ...(scenario.guests ?? []),
    {
      vmid: 700,
      node: 'pve1',
      name: 'on-zfs',
      memory: 1024,
      cores: 1,
      disks: { scsi0: { storage: 'tank', sizeGiB: 8 } },
    },
    {
      vmid: 701,
      node: 'pve1',
      name: 'on-raw',
      memory: 1024,
      cores: 1,
      disks: { scsi0: { storage: 'rawdir', sizeGiB: 8 } },
    },
    {
      vmid: 702,
      node: 'pve3',
      name: 'on-thick',
      memory: 1024,
      cores: 1,
      disks: { scsi0: { storage: 'thick-lvm', sizeGiB: 8 } },
    },
  ];
  return scenario;
}

async function snapshot(vmid: number, node: string, snapname: string) {
  const r = await call(sim, 'POST', `/nodes/${node}/qemu/${vmid}/snapshot`, { params: { snapname } });
  expect(r.status).toBe(200);
  return waitTask(sim, r.body.data as string);
}

describe('snapshots as each storage type allows them', () => {
  it('fails the task with "snapshot feature is not available" on thick LVM and raw directory images, and succeeds on lvm-thin linked clones', async () => {
    sim = await fastSim({ timeScale: 50, scenario: withStorages() });
    expect(await snapshot(702, 'pve3', 'a')).toMatchObject({ exitstatus: 'snapshot feature is not available' });
    expect(await snapshot(701, 'pve1', 'a')).toMatchObject({ exitstatus: 'snapshot feature is not available' });
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/701/config')).body.data).not.toHaveProperty('lock');
    expect(((await call(sim, 'GET', '/nodes/pve1/qemu/701/snapshot')).body.data as unknown[]).length).toBe(1);

    const linked = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 710, name: 'linked' } });
    await waitTask(sim, linked.body.data as string);
    const disk = ((await call(sim, 'GET', '/nodes/pve1/qemu/710/config')).body.data as Record<string, string>).scsi0;
    expect(disk).toMatch(/^local-lvm:vm-710-disk-0,/);
    expect(await snapshot(710, 'pve1', 'a')).toMatchObject({ exitstatus: 'OK' });
  });

  it('rolls a ZFS disk back only to its newest snapshot, lvm-thin to any, and starts the VM again with start=1', async () => {
    sim = await fastSim({ timeScale: 50, scenario: withStorages() });
    await snapshot(700, 'pve1', 'one');
    await snapshot(700, 'pve1', 'two');
    const older = await call(sim, 'POST', '/nodes/pve1/qemu/700/snapshot/one/rollback');
    expect(await waitTask(sim, older.body.data as string)).toMatchObject({
      exitstatus: "can't rollback, 'one' is not most recent snapshot on 'tank:vm-700-disk-0'",
    });
    const newest = await call(sim, 'POST', '/nodes/pve1/qemu/700/snapshot/two/rollback', { params: { start: 1 } });
    expect(await waitTask(sim, newest.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/700/status/current')).body.data).toMatchObject({
      status: 'running',
    });

    const thin = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 711, name: 'thin' } });
    await waitTask(sim, thin.body.data as string);
    await snapshot(711, 'pve1', 'one');
    await snapshot(711, 'pve1', 'two');
    const back = await call(sim, 'POST', '/nodes/pve1/qemu/711/snapshot/one/rollback');
    expect(await waitTask(sim, back.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    expect(await taskLog(sim, back.body.data as string)).toContain('TASK OK');
  });
});

describe('the guest agent sets a user password', () => {
  it('sets it on a running VM whose agent answers, and refuses as qemu-server does without an agent, while stopped or booting', async () => {
    sim = await fastSim({ timeScale: 50 });
    const cloned = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 720, name: 'pw' } });
    await waitTask(sim, cloned.body.data as string);
    const set = () =>
      call(sim, 'POST', '/nodes/pve1/qemu/720/agent/set-user-password', {
        params: { username: 'student', password: 'Correct-Horse-7' },
      });
    await call(sim, 'PUT', '/nodes/pve1/qemu/720/config', { params: { agent: '0' } });
    expect((await set()).reason).toBe('No QEMU guest agent configured');
    await call(sim, 'PUT', '/nodes/pve1/qemu/720/config', { params: { agent: '1' } });
    expect((await set()).reason).toBe('VM 720 is not running');
    await waitTask(sim, (await call(sim, 'POST', '/nodes/pve1/qemu/720/status/start')).body.data as string);
    expect((await set()).reason).toBe('QEMU guest agent is not running');
    const guest = sim.state.guests.get(720)!;
    guest.agentReadyAt = sim.state.time.now();
    const ok = await set();
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ result: {} });
    expect(passwordsSetIn(guest)).toMatchObject([{ username: 'student', password: 'Correct-Horse-7', crypted: false }]);
    const short = await call(sim, 'POST', '/nodes/pve1/qemu/720/agent/set-user-password', {
      params: { username: 'student', password: 'abc' },
    });
    expect(short.status).toBe(400);
  });
});

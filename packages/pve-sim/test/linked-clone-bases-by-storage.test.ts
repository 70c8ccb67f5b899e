import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim, ScenarioInput } from '../src/index.js';
import { call, fastSim, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

const GiB = 1024 ** 3;

/** One node, one template on each storage type that can link-clone (pve-storage 0c56bad8). */
const scenario: ScenarioInput = {
  nodes: [{ name: 'pve1' }],
  storages: [
    { id: 'local-lvm', type: 'lvmthin' },
    { id: 'tank', type: 'zfspool' },
    { id: 'ceph', type: 'rbd', shared: true },
    { id: 'local', type: 'dir', format: 'raw' },
  ],
  guests: [
    {
      vmid: 9001,
      node: 'pve1',
      name: 'on-lvmthin',
      template: true,
      disks: { scsi0: { storage: 'local-lvm', sizeGiB: 10 } },
    },
    { vmid: 9002, node: 'pve1', name: 'on-zfs', template: true, disks: { scsi0: { storage: 'tank', sizeGiB: 10 } } },
    { vmid: 9003, node: 'pve1', name: 'on-rbd', template: true, disks: { scsi0: { storage: 'ceph', sizeGiB: 10 } } },
    { vmid: 9004, node: 'pve1', name: 'on-dir', template: true, disks: { scsi0: { storage: 'local', sizeGiB: 10 } } },
  ],
};

const data = <T>(r: { status: number; body: { data?: unknown } }): T => {
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data as T;
};

async function linkedClone(template: number, newid: number): Promise<string> {
  const upid = data<string>(await call(sim, 'POST', `/nodes/pve1/qemu/${template}/clone`, { params: { newid } }));
  expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
  return sim.state.guests.get(newid)!.config.scsi0!.split(',')[0]!;
}

async function destroy(vmid: number): Promise<string | undefined> {
  const upid = data<string>(await call(sim, 'DELETE', `/nodes/pve1/qemu/${vmid}`));
  return (await waitTask(sim, upid)).exitstatus;
}

const content = async (storage: string) =>
  data<Array<Record<string, unknown>>>(await call(sim, 'GET', `/nodes/pve1/storage/${storage}/content`));

// pve-storage src/PVE/Storage/{LvmThinPlugin,ZFSPoolPlugin,RBDPlugin,Plugin}.pm clone_image, list_images,
// parse_volname; src/PVE/Storage.pm vdisk_free, volume_is_base_and_used (0c56bad8); qemu-server
// src/PVE/QemuServer.pm destroy_vm (e6352be6). BEHAVIOURS.md §T1.
describe('linked clones of a base template, per storage type', () => {
  it('names the clone as each plugin clone_image does: lvm-thin without its base, the others with it', async () => {
    sim = await fastSim({ scenario });
    expect(await linkedClone(9001, 101)).toBe('local-lvm:vm-101-disk-0');
    expect(await linkedClone(9002, 102)).toBe('tank:base-9002-disk-0/vm-102-disk-0');
    expect(await linkedClone(9003, 103)).toBe('ceph:base-9003-disk-0/vm-103-disk-0');
    expect(await linkedClone(9004, 104)).toBe('local:9004/base-9004-disk-0.raw/104/vm-104-disk-0.qcow2');
  });

  it('lists volumes as list_images does: no parent on lvm-thin, the origin on zfs and rbd, the backing file on dir', async () => {
    sim = await fastSim({ scenario });
    await linkedClone(9001, 111);
    await linkedClone(9001, 110);
    await linkedClone(9002, 102);
    await linkedClone(9003, 103);
    await linkedClone(9004, 104);
    const lvm = await content('local-lvm');
    expect(lvm.map((v) => v.volid)).toEqual([
      'local-lvm:base-9001-disk-0',
      'local-lvm:vm-110-disk-0',
      'local-lvm:vm-111-disk-0',
    ]);
    for (const v of lvm) {
      expect(Object.keys(v).sort()).toEqual(['content', 'ctime', 'format', 'size', 'vmid', 'volid']);
    }
    expect(lvm[1]).toMatchObject({ format: 'raw', size: 10 * GiB, vmid: 110, content: 'images' });
    expect((await content('tank')).find((v) => v.vmid === 102)).toEqual({
      volid: 'tank:base-9002-disk-0/vm-102-disk-0',
      name: 'vm-102-disk-0',
      parent: 'base-9002-disk-0@__base__',
      format: 'raw',
      size: 10 * GiB,
      vmid: 102,
      content: 'images',
    });
    expect((await content('ceph')).find((v) => v.vmid === 103)).toMatchObject({
      volid: 'ceph:base-9003-disk-0/vm-103-disk-0',
      parent: 'base-9003-disk-0@__base__',
    });
    expect((await content('local')).find((v) => v.vmid === 104)).toMatchObject({
      volid: 'local:9004/base-9004-disk-0.raw/104/vm-104-disk-0.qcow2',
      format: 'qcow2',
      parent: '../9004/base-9004-disk-0.raw',
      used: expect.any(Number),
    });
  });

  it('refuses to destroy a used base on zfs, rbd and dir with qemu-server’s text, and lets it go once the clone is gone', async () => {
    sim = await fastSim({ scenario });
    const cases = [
      [9002, 102, 'tank', 'base-9002-disk-0'],
      [9003, 103, 'ceph', 'base-9003-disk-0'],
      [9004, 104, 'local', '9004/base-9004-disk-0.raw'],
    ] as const;
    for (const [template, clone, storage, volname] of cases) {
      await linkedClone(template, clone);
      expect(await destroy(template)).toBe(`base volume '${storage}:${volname}' is still in use by linked cloned`);
      expect(sim.state.guests.get(template)?.config.lock).toBeUndefined();
      expect(sim.state.storageOn('pve1', storage)!.volumes.has(volname)).toBe(true);
      expect(await destroy(clone)).toBe('OK');
      expect(await destroy(template)).toBe('OK');
      expect(sim.state.storageOn('pve1', storage)!.volumes.has(volname)).toBe(false);
    }
  });

  it('destroys a used base on lvm-thin; its thin clones stay, start, and keep the shared blocks in the pool', async () => {
    sim = await fastSim({ scenario });
    const usedOfPool = async () =>
      data<Array<{ storage: string; used: number }>>(await call(sim, 'GET', '/nodes/pve1/storage')).find(
        (s) => s.storage === 'local-lvm',
      )!.used;
    const before = await usedOfPool();
    const baseUsed = sim.state.storageOn('pve1', 'local-lvm')!.volumes.get('base-9001-disk-0')!.usedBytes;
    expect(baseUsed).toBeGreaterThan(0);
    await linkedClone(9001, 101);
    await linkedClone(9001, 102);
    const withBase = await usedOfPool();

    expect(await destroy(9001)).toBe('OK');
    expect(sim.state.guests.has(9001)).toBe(false);
    expect((await content('local-lvm')).map((v) => v.volid)).toEqual([
      'local-lvm:vm-101-disk-0',
      'local-lvm:vm-102-disk-0',
    ]);
    expect(sim.state.guests.get(101)!.config.scsi0).toMatch(/^local-lvm:vm-101-disk-0,/);
    expect(await usedOfPool(), 'the thin clones still map the base’s blocks').toBe(withBase);
    const upid = data<string>(await call(sim, 'POST', '/nodes/pve1/qemu/101/status/start'));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });

    await call(sim, 'POST', '/nodes/pve1/qemu/101/status/stop').then(async (r) => waitTask(sim, data<string>(r)));
    expect(await destroy(101)).toBe('OK');
    expect(await usedOfPool(), 'one clone still maps them').toBe(withBase - 64 * 1024 ** 2);
    expect(await destroy(102)).toBe('OK');
    expect(await usedOfPool(), 'the last clone gone, the pool frees them').toBe(before - baseUsed);
  });

  it('migrates an lvm-thin linked clone as a full copy (no base to refuse on); the target takes the shared blocks', async () => {
    sim = await fastSim({
      scenario: {
        nodes: [{ name: 'pve1' }, { name: 'pve2' }],
        storages: [{ id: 'local-lvm', type: 'lvmthin' }],
        guests: [
          {
            vmid: 9001,
            node: 'pve1',
            name: 't',
            template: true,
            disks: { scsi0: { storage: 'local-lvm', sizeGiB: 10 } },
          },
        ],
      },
    });
    await linkedClone(9001, 101);
    const pve1 = sim.state.storageOn('pve1', 'local-lvm')!;
    const clone = pve1.volumes.get('vm-101-disk-0')!;
    const shared = pve1.volumes.get('base-9001-disk-0')!.usedBytes;
    const upid = data<string>(await call(sim, 'POST', '/nodes/pve1/qemu/101/migrate', { params: { target: 'pve2' } }));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    expect(pve1.volumes.has('vm-101-disk-0')).toBe(false);
    expect(sim.state.storageOn('pve2', 'local-lvm')!.volumes.get('vm-101-disk-0')).toEqual({
      volname: 'vm-101-disk-0',
      vmid: 101,
      sizeBytes: clone.sizeBytes,
      usedBytes: clone.usedBytes + shared,
    });
  });
});

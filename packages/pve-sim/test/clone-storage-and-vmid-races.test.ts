import { afterEach, describe, expect, it } from 'vitest';
import { type PveSim, type ScenarioInput } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

const clone = (s: PveSim, node: string, vmid: number, params: Record<string, string | number>) =>
  call(s, 'POST', `/nodes/${node}/qemu/${vmid}/clone`, { params });

// qemu-server src/PVE/API2/Qemu.pm clone_vm: `-f $conffile` looks at this node's file only; the
// worker's PVE::Tools::file_set_contents then fails in pmxcfs (pve-cluster memdb.c memdb_rename, -EEXIST).
describe('a VMID taken on another node between nextid and the clone', () => {
  it('passes the early check and fails the task with pmxcfs\'s "File exists", leaving nothing behind', async () => {
    sim = await fastSim();
    const other = await clone(sim, 'pve1', 9002, { newid: 800, name: 'elsewhere', full: 1, target: 'pve2' });
    await waitTask(sim, other.body.data as string);
    expect(sim.state.guests.get(800)?.node).toBe('pve2');
    const r = await clone(sim, 'pve1', 9000, { newid: 800, name: 'mine' });
    expect(r.status).toBe(200);
    const upid = r.body.data as string;
    expect(await waitTask(sim, upid)).toMatchObject({
      exitstatus: "close (rename) atomic file '/etc/pve/nodes/pve1/qemu-server/800.conf' failed: File exists",
    });
    expect((await taskLog(sim, upid)).at(-1)).toBe(
      "TASK ERROR: close (rename) atomic file '/etc/pve/nodes/pve1/qemu-server/800.conf' failed: File exists",
    );
    expect(sim.state.guests.get(800)?.config.name).toBe('elsewhere');
    expect([...sim.state.storageOn('pve1', 'local-lvm')!.volumes.keys()].filter((v) => v.includes('800'))).toEqual([]);
  });

  it('still refuses a VMID on the same node at once with "config file already exists"', async () => {
    sim = await fastSim();
    const r = await clone(sim, 'pve1', 9000, { newid: 100 });
    expect(r.status).toBe(500);
    expect(r.reason).toBe('unable to create VM 100: config file already exists');
  });

  it('loses the configured share of clones to another client on another node, seeded', async () => {
    sim = await fastSim({ crossNodeVmidRaceRate: 1 });
    const next = Number((await call(sim, 'GET', '/cluster/nextid')).body.data);
    const r = await clone(sim, 'pve1', 9000, { newid: next, name: 'raced' });
    expect(await waitTask(sim, r.body.data as string)).toMatchObject({
      exitstatus: `close (rename) atomic file '/etc/pve/nodes/pve1/qemu-server/${next}.conf' failed: File exists`,
    });
    const taker = sim.state.guests.get(next)!;
    expect(taker.node).not.toBe('pve1');
    expect(taker.config.name).toBe(`other-client-${next}`);
    expect(Number((await call(sim, 'GET', '/cluster/nextid')).body.data)).toBeGreaterThan(next);
    sim.ops.crossNodeVmidRaceRate = 0;
    const fresh = Number((await call(sim, 'GET', '/cluster/nextid')).body.data);
    const ok = await clone(sim, 'pve1', 9000, { newid: fresh, name: 'retried' });
    expect(await waitTask(sim, ok.body.data as string)).toMatchObject({ exitstatus: 'OK' });
  });
});

const fileStorages: ScenarioInput = {
  nodes: [{ name: 'pve1' }, { name: 'pve2' }],
  storages: [
    { id: 'local-lvm', type: 'lvmthin' },
    { id: 'raw-dir', type: 'dir', content: 'images', format: 'raw' },
    { id: 'raw-nfs', type: 'nfs', shared: true, content: 'images', format: 'raw' },
    { id: 'thick', type: 'lvm' },
  ],
  guests: [
    {
      vmid: 9000,
      node: 'pve1',
      name: 'raw-dir-base',
      template: true,
      disks: { scsi0: { storage: 'raw-dir', sizeGiB: 8 } },
    },
    {
      vmid: 9001,
      node: 'pve1',
      name: 'raw-nfs-base',
      template: true,
      disks: { scsi0: { storage: 'raw-nfs', sizeGiB: 8 } },
    },
    { vmid: 9002, node: 'pve1', name: 'lvm-base', template: true, disks: { scsi0: { storage: 'thick', sizeGiB: 8 } } },
  ],
};

// pve-storage src/PVE/Storage/Plugin.pm volume_has_feature (`clone => { base => { qcow2, raw, vmdk } }`)
// and clone_image (a qcow2 backed by the base); LVMPlugin.pm has no `clone` feature.
describe("linked clones follow pve-storage's feature table", () => {
  it('link-clones a raw base image on directory and NFS storage, as a qcow2 on top of it', async () => {
    sim = await fastSim({ scenario: fileStorages });
    const dir = await clone(sim, 'pve1', 9000, { newid: 200 });
    expect(await waitTask(sim, dir.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    expect((await taskLog(sim, dir.body.data as string))[1]).toBe(
      'create linked clone of drive scsi0 (raw-dir:9000/base-9000-disk-0.raw)',
    );
    expect(sim.state.guests.get(200)?.config.scsi0).toMatch(
      /^raw-dir:9000\/base-9000-disk-0\.raw\/200\/vm-200-disk-0\.qcow2,/,
    );
    const nfs = await clone(sim, 'pve1', 9001, { newid: 201, target: 'pve2' });
    expect(await waitTask(sim, nfs.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.state.guests.get(201)?.node).toBe('pve2');
    expect(sim.state.guests.get(201)?.config.scsi0).toMatch(
      /^raw-nfs:9001\/base-9001-disk-0\.raw\/201\/vm-201-disk-0\.qcow2,/,
    );
    const lvm = await clone(sim, 'pve1', 9002, { newid: 202 });
    expect(lvm.reason).toBe("Linked clone feature is not supported for 'thick:base-9002-disk-0' (scsi0)");
  });

  it('refuses a clone to another node onto non-shared storage (clone_vm)', async () => {
    sim = await fastSim({ scenario: fileStorages });
    const r = await clone(sim, 'pve1', 9001, { newid: 210, full: 1, target: 'pve2', storage: 'local-lvm' });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("can't clone to non-shared storage 'local-lvm'");
    const local = await clone(sim, 'pve1', 9000, { newid: 210, full: 1, target: 'pve2', storage: 'raw-nfs' });
    expect(local.reason).toBe("can't clone VM to node 'pve2' (VM uses local storage)");
    const shared = await clone(sim, 'pve1', 9001, { newid: 210, full: 1, target: 'pve2', storage: 'raw-nfs' });
    expect(await waitTask(sim, shared.body.data as string)).toMatchObject({ exitstatus: 'OK' });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

const clone = (s: PveSim, node: string, vmid: number, params: Record<string, string | number>) =>
  call(s, 'POST', `/nodes/${node}/qemu/${vmid}/clone`, { params });

describe('clones behave like PVE clones', () => {
  it('returns a qmclone UPID whose id is the SOURCE vmid, and shows lock: clone on the new VM until done', async () => {
    sim = await fastSim({ timeScale: 20 });
    const r = await clone(sim, 'pve1', 9000, { newid: 500, name: 'cs101-alice' });
    expect(r.status).toBe(200);
    const upid = r.body.data as string;
    expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmclone:9000:root@pam!pve-sim:$/);
    // The worker writes the temporary config once it holds the new VM's lock.
    let during = await call(sim, 'GET', '/nodes/pve1/qemu/500/config');
    while (during.status !== 200) during = await call(sim, 'GET', '/nodes/pve1/qemu/500/config');
    expect(during.body.data).toMatchObject({ lock: 'clone' });
    // vm_start checks the lock inside its worker: the request gets a UPID, the task fails.
    const start = await call(sim, 'POST', '/nodes/pve1/qemu/500/status/start');
    expect(start.status).toBe(200);
    expect(await waitTask(sim, start.body.data as string)).toMatchObject({ exitstatus: 'VM is locked (clone)' });
    expect(await waitTask(sim, upid)).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    const after = (await call(sim, 'GET', '/nodes/pve1/qemu/500/config')).body.data as Record<string, unknown>;
    expect(after.lock).toBeUndefined();
    expect(after.name).toBe('cs101-alice');
    expect(after.scsi0).toMatch(/^local-lvm:vm-500-disk-0,/);
    expect(after.ide2).toBe('local-lvm:vm-500-cloudinit,media=cdrom');
    expect(after.template).toBeUndefined();
    // qemu-server clone_vm (e6352be6): drives in sorted order, the cloud-init drive copied in full.
    const log = await taskLog(sim, upid);
    expect(log.slice(0, 3)).toEqual([
      'creating a clone of VM 9000 with ID 500',
      'create full clone of drive ide2 (local-lvm:vm-9000-cloudinit)',
      'create linked clone of drive scsi0 (local-lvm:base-9000-disk-0)',
    ]);
    expect(log.at(-1)).toBe('TASK OK');
  });

  it('gives every clone a new MAC and smbios uuid', async () => {
    sim = await fastSim();
    await waitTask(sim, (await clone(sim, 'pve1', 9000, { newid: 501 })).body.data as string);
    const src = sim.state.guests.get(9000)!.config;
    const copy = sim.state.guests.get(501)!.config;
    expect(copy.net0).not.toBe(src.net0);
    expect(copy.smbios1).not.toBe(src.smbios1);
    expect(copy.name).toBe('Copy-of-VM-ubuntu-2404-cloud');
  });

  it('full clones log transferred … (NN.NN%) lines and take time in proportion to disk size', async () => {
    // Durations are the tasks' own start and end times (simulated seconds), not the test's polling.
    // At time scale 50 a timer that a loaded machine fires 0.5 s late adds 25 simulated seconds,
    // which the upper bounds below absorb; the lower bounds are the model's and hold on any machine.
    sim = await fastSim({ timeScale: 50 });
    const small = await clone(sim, 'pve1', 9002, { newid: 510, full: 1 }); // 16 GiB on nfs-shared
    await waitTask(sim, small.body.data as string, 60_000);
    const big = await clone(sim, 'pve1', 9001, { newid: 511, full: 1 }); // 64 GiB on local-lvm
    await waitTask(sim, big.body.data as string, 60_000);
    const tasks = (await call(sim, 'GET', '/nodes/pve1/tasks', { params: { limit: 100 } })).body.data as Array<{
      upid: string;
      starttime: number;
      endtime?: number;
    }>;
    const took = (upid: string) => {
      const t = tasks.find((x) => x.upid === upid)!;
      return (t.endtime! - t.starttime) * 1000;
    };
    const smallMs = took(small.body.data as string);
    const bigMs = took(big.body.data as string);
    const log = await taskLog(sim, big.body.data as string);
    expect(log).toContain('create full clone of drive scsi0 (local-lvm:base-9001-disk-0)');
    const scsi0 = log.slice(log.indexOf('create full clone of drive scsi0 (local-lvm:base-9001-disk-0)'));
    const percents = scsi0
      .map((l) => /\((\d+\.\d\d)%\)$/.exec(l)?.[1])
      .filter(Boolean)
      .map(Number);
    expect(percents.length).toBeGreaterThan(10);
    expect(percents.at(-1)).toBe(100);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    // 64 GiB at 400 MB/s ≈ 164 s; 16 GiB at 250 MB/s ≈ 66 s (simulated time).
    expect(bigMs / 1000).toBeGreaterThan(150);
    expect(bigMs / 1000).toBeLessThan(230);
    expect(smallMs / 1000).toBeGreaterThan(60);
    expect(smallMs / 1000).toBeLessThan(120);
  }, 120_000);

  it('does not reserve ids: two clones asking for one newid both get a UPID, and one fails as a task on the config lock', async () => {
    // qemu-server clone_vm (e6352be6): checks before the worker and again inside it, under
    // lock_config_full($newid, 1); the temporary config is written only then.
    sim = await fastSim({ timeScale: 1 });
    const a = await call(sim, 'GET', '/cluster/nextid');
    const b = await call(sim, 'GET', '/cluster/nextid');
    expect(a.body.data).toBe(b.body.data);
    expect(typeof a.body.data).toBe('string');
    const newid = Number(a.body.data);
    const [first, second] = await Promise.all([
      clone(sim, 'pve1', 9000, { newid }),
      clone(sim, 'pve1', 9000, { newid }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const results = await Promise.all([
      waitTask(sim, first.body.data as string),
      waitTask(sim, second.body.data as string),
    ]);
    const exits = results.map((r) => r.exitstatus).sort();
    expect(exits).toEqual(['OK', `can't lock file '/var/lock/qemu-server/lock-${newid}.conf' - got timeout`]);
    const taken = await call(sim, 'GET', '/cluster/nextid', { params: { vmid: newid } });
    expect(taken.status).toBe(400);
    expect(taken.body.errors).toEqual({ vmid: `VM ${newid} already exists` });
    // The loser leaves the winner's VM alone.
    expect(sim.state.guests.get(newid)?.config.lock).toBeUndefined();
  });

  it('fails a clone as a task with "config file already exists" when the id was taken after the request was answered', async () => {
    sim = await fastSim({ timeScale: 1, scenario: withTimings({ linkedCloneSeconds: 0.1, allocateSeconds: 0.1 }) });
    const first = await clone(sim, 'pve1', 9000, { newid: 560 });
    const second = await clone(sim, 'pve1', 9000, { newid: 560 });
    expect(second.status).toBe(200);
    const results = await Promise.all([
      waitTask(sim, first.body.data as string),
      waitTask(sim, second.body.data as string),
    ]);
    expect(results.map((r) => r.exitstatus).sort()).toEqual([
      'OK',
      'unable to create VM 560: config file already exists',
    ]);
    const later = await clone(sim, 'pve1', 9000, { newid: 560 });
    expect(later.status).toBe(500);
    expect(later.reason).toBe('unable to create VM 560: config file already exists');
  });

  it('loses a share of clones to other clients at the configured race rate, leaving nothing behind', async () => {
    sim = await fastSim({ cloneRaceRate: 1 });
    const r = await clone(sim, 'pve1', 9000, { newid: 570 });
    expect(r.status).toBe(200);
    expect((await waitTask(sim, r.body.data as string)).exitstatus).toBe(
      "can't lock file '/var/lock/qemu-server/lock-570.conf' - got timeout",
    );
    expect(sim.state.guests.has(570)).toBe(false);
    expect(sim.state.acceptedClones.at(-1)).toMatchObject({ newid: 570, outcome: 'failed' });
  });

  it('refuses a clone sent to a node that does not hold the source', async () => {
    // qemu-server QemuConfig.pm assert_config_exists_on_node (via check_running).
    sim = await fastSim();
    const r = await clone(sim, 'pve2', 9000, { newid: 580 });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("unable to find configuration file for VM 9000 on node 'pve2'");
  });

  it('keeps the config of a clone with target on the source node until the end', async () => {
    sim = await fastSim({ timeScale: 20 });
    const r = await clone(sim, 'pve1', 9002, { newid: 590, target: 'pve2', full: 1 });
    expect(r.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sim.state.guests.get(590)?.node).toBe('pve1');
    expect((await call(sim, 'GET', '/nodes/pve1/qemu/590/config')).body.data).toMatchObject({ lock: 'clone' });
    await waitTask(sim, r.body.data as string);
    expect(sim.state.guests.get(590)?.node).toBe('pve2');
    expect((await call(sim, 'GET', '/nodes/pve2/qemu/590/config')).status).toBe(200);
  });

  it('refuses a linked clone where the storage cannot do it, with the real message', async () => {
    sim = await fastSim();
    const r = await clone(sim, 'pve3', 9003, { newid: 520 });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("Linked clone feature is not supported for 'thick-lvm:base-9003-disk-0' (scsi0)");
    const full = await clone(sim, 'pve3', 9003, { newid: 520, full: 1 });
    expect(full.status).toBe(200);
  });

  // qemu-server PVE/QemuServer.pm template_create: `template: 1` is written first, then each disk is
  // renamed to its base volume, with no config lock; PVE/API2/Qemu.pm clone_vm's storage feature
  // check then refuses a linked clone of the disk that is not a base volume yet.
  it('refuses a linked clone sent while a template conversion is still renaming the disks', async () => {
    // A slow conversion (60 s of model time) keeps the window open long enough to hit it.
    sim = await fastSim({
      timeScale: 40,
      scenario: { ...structuredClone(presets.small!), timings: { templateSeconds: 60 } },
    });
    const full = await clone(sim, 'pve1', 9000, { newid: 600, name: 'to-be-template', full: 1 });
    expect(await waitTask(sim, full.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    const convert = await call(sim, 'POST', '/nodes/pve1/qemu/600/template');
    expect(convert.status).toBe(200);
    let config = (await call(sim, 'GET', '/nodes/pve1/qemu/600/config')).body.data as Record<string, unknown>;
    for (let i = 0; i < 200 && Number(config.template) !== 1; i++)
      config = (await call(sim, 'GET', '/nodes/pve1/qemu/600/config')).body.data as Record<string, unknown>;
    expect(Number(config.template)).toBe(1);
    expect(config.lock).toBeUndefined();
    expect(config.scsi0).toMatch(/^local-lvm:vm-600-disk-0,/);
    const early = await clone(sim, 'pve1', 600, { newid: 601, name: 'too-early', full: 0 });
    expect(early.status).toBe(500);
    expect(early.reason).toBe("Linked clone feature is not supported for 'local-lvm:vm-600-disk-0' (scsi0)");
    expect(await waitTask(sim, convert.body.data as string)).toMatchObject({ exitstatus: 'OK' });
    const later = await clone(sim, 'pve1', 600, { newid: 602, name: 'in-time', full: 0 });
    expect(await waitTask(sim, later.body.data as string)).toMatchObject({ exitstatus: 'OK' });
  });

  it('refuses a linked clone of a VM that is not a template, and clones it in full by default', async () => {
    sim = await fastSim();
    const linked = await clone(sim, 'pve1', 100, { newid: 540, full: 0 });
    expect(linked.status).toBe(500);
    expect(linked.reason).toBe("Linked clone feature is not supported for 'local-lvm:vm-100-disk-0' (scsi0)");
    const byDefault = await clone(sim, 'pve1', 100, { newid: 540 });
    expect(byDefault.status).toBe(200);
    await waitTask(sim, byDefault.body.data as string);
    const log = await taskLog(sim, byDefault.body.data as string);
    expect(log[1]).toBe('create full clone of drive scsi0 (local-lvm:vm-100-disk-0)');
    expect(log[2]).toMatch(/^transferred 0\.0 B of 16\.0 GiB \(0\.00%\)$/);
  });

  it('keeps linked clones of local storage on the template node and refuses storage/format for them', async () => {
    sim = await fastSim();
    const moved = await clone(sim, 'pve1', 9000, { newid: 530, target: 'pve2' });
    expect(moved.reason).toBe("can't clone VM to node 'pve2' (VM uses local storage)");
    const storage = await clone(sim, 'pve1', 9000, { newid: 530, storage: 'local' });
    expect(storage.reason).toBe("parameter 'storage' not allowed for linked clones");
    const format = await clone(sim, 'pve1', 9000, { newid: 530, format: 'qcow2' });
    expect(format.reason).toBe("parameter 'format' not allowed for linked clones");
    const shared = await clone(sim, 'pve1', 9002, { newid: 531, target: 'pve2' });
    expect(shared.status).toBe(200);
    await waitTask(sim, shared.body.data as string);
    expect(sim.state.guests.get(531)?.node).toBe('pve2');
  });

  it('makes parallel clones queue on a local storage lock and time out with the real error', async () => {
    // Each linked clone holds the lock 4 s: clones granted at 0, 4, 8 s make it; the ones that would
    // be granted at 12 s or later have waited past the 10 s timeout. Margins of 2 s absorb arrival jitter.
    // timeScale 5 keeps the requests' arrival jitter (a busy machine, permission checks) well inside the margins.
    sim = await fastSim({
      timeScale: 5,
      scenario: withTimings({ linkedCloneSeconds: 4, storageLockTimeoutSeconds: 10 }),
    });
    const upids = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => (await clone(sim, 'pve1', 9000, { newid: 600 + i })).body.data as string),
    );
    const results = await Promise.all(upids.map((u) => waitTask(sim, u)));
    const failed = results.filter((r) => r.exitstatus !== 'OK');
    expect(results.filter((r) => r.exitstatus === 'OK')).toHaveLength(3);
    expect(failed).toHaveLength(3);
    for (const f of failed)
      expect(f.exitstatus).toBe(
        "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
      );
    const failedUpid = upids[results.findIndex((r) => r.exitstatus !== 'OK')]!;
    const log = await taskLog(sim, failedUpid);
    expect(log).toContain('trying to acquire lock...');
    expect(log.at(-1)).toBe(
      "TASK ERROR: clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
    );
    // A failed clone leaves no VM and no volume behind.
    const vmids = [600, 601, 602, 603, 604, 605].filter((id) => sim.state.guests.has(id));
    expect(vmids).toHaveLength(3);
  });

  it('makes parallel clones on shared storage fail with the cfs-lock error', async () => {
    sim = await fastSim({
      timeScale: 10,
      scenario: withTimings({ linkedCloneSeconds: 6, storageLockTimeoutSeconds: 10 }),
    });
    const upids = await Promise.all(
      [0, 1, 2].map(async (i) => (await clone(sim, 'pve1', 9002, { newid: 700 + i })).body.data as string),
    );
    const results = await Promise.all(upids.map((u) => waitTask(sim, u)));
    expect(results.map((r) => r.exitstatus)).toEqual([
      'OK',
      'OK',
      "clone failed: cfs-lock 'storage-nfs-shared' error: got lock request timeout",
    ]);
  });
});

/** The `small` preset with some timings changed. */
function withTimings(timings: Record<string, number>) {
  return { ...structuredClone(presets.small!), timings };
}

import { afterEach, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim, type ScenarioInput } from '@lab/pve-sim';
import { CloneTargetStorageError, PveRefusedError } from '../src/errors/index.js';
import { cloneVm, pveResources, waitForTask } from '../src/pve/index.js';
import type { ProxmoxClient } from '../src/index.js';
import { classVmNames, labOver } from './deployment-fixture.js';
import { clientFor, expectSchemaValidRequests, fastSim } from './helpers.js';

let sim: PveSim | undefined;
const clients: ProxmoxClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await sim?.close();
  sim = undefined;
});

function client(s: PveSim): ProxmoxClient {
  const c = clientFor(s);
  clients.push(c);
  return c;
}

const fast = { pollIntervalMs: 20 };

describe('PVE refusals are one coded error, whether PVE answers at once or fails the task', () => {
  it('gives a refused delete and a failed start task of a running VM the same code', async () => {
    sim = await fastSim();
    const vm = pveResources(client(sim)).qemu('pve1', 100);
    const immediate = await vm.delete().catch((e: unknown) => e);
    expect(immediate).toBeInstanceOf(PveRefusedError);
    expect(immediate).toMatchObject({
      code: 'LAB_PVE_REFUSED_GUEST_RUNNING',
      pveMessage: 'VM 100 is running - destroy failed',
      upid: undefined,
    });
    const upid = await vm.start();
    const inTask = await waitForTask(client(sim), upid, fast).catch((e: unknown) => e);
    expect(inTask).toBeInstanceOf(PveRefusedError);
    expect(inTask).toMatchObject({
      code: 'LAB_PVE_REFUSED_GUEST_RUNNING',
      reason: 'guest-running',
      pveMessage: 'VM 100 already running',
      upid,
    });
  });

  it('reads a locked VM, a template start and a full node from failed tasks; a shutdown of a stopped VM is OK', async () => {
    sim = await fastSim();
    const api = client(sim);
    sim.editGuestConfig(102, { lock: 'backup' });
    const locked = await waitForTask(api, await pveResources(api).qemu('pve3', 102).start(), fast).catch((e) => e);
    expect(locked).toMatchObject({ code: 'LAB_PVE_REFUSED_GUEST_LOCKED', pveMessage: 'VM is locked (backup)' });
    expect(locked.message).toMatch(/^Proxmox refused: VM is locked \(backup\) — wait until/);
    const template = await waitForTask(api, await pveResources(api).qemu('pve1', 9000).start(), fast).catch((e) => e);
    expect(template).toMatchObject({ code: 'LAB_PVE_REFUSED_GUEST_IS_TEMPLATE' });
    sim.editGuestConfig(102, { lock: null, memory: String(1024 * 1024) });
    const full = await waitForTask(api, await pveResources(api).qemu('pve3', 102).start(), fast).catch((e) => e);
    expect(full).toMatchObject({
      code: 'LAB_PVE_REFUSED_START_FAILED',
      pveMessage: 'start failed: QEMU exited with code 1',
    });
    const stopped = await waitForTask(api, await pveResources(api).qemu('pve3', 102).shutdown(), fast);
    expect(stopped.exitstatus).toBe('OK');
  });
});

describe('a deploy treats a refusal by its code', () => {
  it('attempts an item again after PVE answers "VM is locked" (the code a failed task gets too)', async () => {
    sim = await startPveSim({ timeScale: 200 });
    sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/template',
      kind: 'http-500',
      count: 1,
      message: 'VM is locked (backup)',
    });
    const { api, engine } = await labOver(sim);
    clients.push(api);
    const summary = await engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' });
    expect(summary).toMatchObject({ status: 'done', failed: [] });
    expect(classVmNames(sim)).toEqual(['cs101-alice', 'cs101-base', 'cs101-bob', 'cs101-carol', 'cs101-teacher']);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/template')).toBe(2);
  });
});

describe('a VMID taken on another node between nextid and the clone', () => {
  it('is retried with a fresh VMID: no duplicate VM, the recorded VMID follows', async () => {
    sim = await fastSim({ crossNodeVmidRaceRate: 1 });
    const race = sim;
    const allocated: number[] = [];
    const result = await cloneVm(client(sim), {
      source: { node: 'pve1', vmid: 9000 },
      name: 'cs101-alice',
      ...fast,
      onAllocated: (vmid) => {
        allocated.push(vmid);
        if (allocated.length === 2) race.ops.crossNodeVmidRaceRate = 0;
      },
    });
    expect(result.attempts).toBe(2);
    expect(allocated).toEqual([allocated[0], result.vmid]);
    expect(result.vmid).not.toBe(allocated[0]);
    const taker = sim.state.guests.get(allocated[0]!)!;
    expect(taker.node).not.toBe('pve1');
    expect(taker.config.name).toBe(`other-client-${allocated[0]}`);
    expect([...sim.state.guests.values()].filter((g) => g.config.name === 'cs101-alice')).toHaveLength(1);
    expectSchemaValidRequests(sim);
  });

  it('deploys a class under a 30 % cross-node race: one VM per student, nothing recorded twice', async () => {
    sim = await startPveSim({ timeScale: 200, seed: 5, crossNodeVmidRaceRate: 0.3 });
    const students = ['s01', 's02', 's03', 's04', 's05', 's06', 's07', 's08'];
    const { api, store, engine } = await labOver(sim, { students });
    clients.push(api);
    const summary = await engine.deploy({
      classId: 'cs101',
      count: students.length,
      template: 'ubuntu',
      strategy: 'pack',
    });
    expect(summary.status).toBe('done');
    const raced = [...sim.state.guests.values()].filter((g) => g.config.name?.startsWith('other-client-'));
    expect(raced.length).toBeGreaterThan(0);
    expect(classVmNames(sim)).toEqual(['cs101-base', 'cs101-teacher', ...students.map((s) => `cs101-${s}`)].sort());
    const assigned = await store.classes.assignmentsOfClass('cs101');
    expect(new Set(assigned.map((a) => a.vmid)).size).toBe(assigned.length);
    for (const a of assigned) expect(raced.map((g) => g.vmid)).not.toContain(a.vmid);
  });
});

/**
 * The term test's bound. Its work is CPU, not waiting: about 1,000 HTTPS requests to the simulator
 * (which runs 400× faster, so its own waits are milliseconds) and ~2 s of CPU on an idle machine,
 * none of it retry backoff. It takes as long as the CPU it gets: 5 s idle, 94 s at a load
 * average of 28 on 2 cores (measured with a recording clock: its engine slept in real time only
 * for lease renewals and polls). The bound only stops a hang.
 */
const cpuBound = { timeout: 240_000 };

describe('a term under a 20 % cross-node VMID race, with guests that ignore a shutdown', cpuBound, () => {
  it('deploys 30 students, publishes (the teacher VM stopped hard), resets everyone and prunes the old base: one VM each, summaries true', async () => {
    sim = await startPveSim({ timeScale: 400, seed: 11, crossNodeVmidRaceRate: 0.2, ignoreAcpiRate: 0.2 });
    const students = Array.from({ length: 30 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
    const { api, store, engine } = await labOver(sim, { students });
    clients.push(api);
    const studentVms = () => [...sim!.state.guests.values()].filter((g) => /^cs101-s\d\d$/.test(g.config.name ?? ''));

    const deployed = await engine.deploy({ classId: 'cs101', count: 30, template: 'ubuntu', strategy: 'pack' });
    expect(deployed).toMatchObject({ status: 'done', failed: [] });
    expect(studentVms()).toHaveLength(30);
    expect(new Set(studentVms().map((g) => g.config.name)).size).toBe(30);

    // The teacher VM runs and ignores ACPI: publishing must stop it hard after the grace, audited.
    const teacherVm = (await store.classes.assignmentsOfClass('cs101')).find((a) => a.role === 'teacher')!;
    const teacherGuest = sim.state.guests.get(teacherVm.vmid)!;
    const vmApi = pveResources(api).qemu(teacherGuest.node, teacherVm.vmid);
    if (teacherGuest.status !== 'running') await waitForTask(api, await vmApi.start(), fast);
    sim.setIgnoresAcpi(teacherVm.vmid, true);
    const published = await (
      await engine.applyPublish(await engine.planPublish({ classId: 'cs101', mode: 'shutdown' }))
    ).done;
    expect(published).toMatchObject({ status: 'done', created: 1 });
    const forcedStops = (await store.audit.list({ action: 'vm.stop' })).filter((e) => e.details?.forced === true);
    expect(forcedStops.map((e) => e.target)).toEqual([`lab/${teacherVm.vmid}`]);
    const teacherTasks = [...sim.state.tasks.tasks.values()].filter((t) => t.id === String(teacherVm.vmid));
    expect(teacherTasks.filter((t) => t.type === 'qmshutdown').map((t) => t.exitstatus)).toContain(
      'VM quit/powerdown failed - got timeout',
    );
    expect(teacherTasks.some((t) => t.type === 'qmstop' && t.exitstatus === 'OK')).toBe(true);
    const v1 = (await engine.baseVersions('cs101'))[0]!;

    const reset = await (
      await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: students }))
    ).done;
    expect(reset).toMatchObject({ status: 'done', failed: [], created: 30, deleted: Object.keys(v1.copies).length });
    for (const vmid of Object.values(v1.copies)) expect(sim.state.guests.has(vmid)).toBe(false);
    expect((await engine.baseVersions('cs101')).map((v) => [v.name, v.users.length])).toEqual([['cs101-base-v2', 30]]);

    expect(studentVms()).toHaveLength(30);
    const assigned = await store.classes.assignmentsOfClass('cs101');
    const raced = new Set(
      [...sim.state.guests.values()].filter((g) => g.config.name?.startsWith('other-client-')).map((g) => g.vmid),
    );
    expect(raced.size).toBeGreaterThan(0);
    for (const a of assigned) {
      expect(raced.has(a.vmid)).toBe(false);
      expect(sim.state.guests.has(a.vmid), `assignment ${a.vmid} points at a VM`).toBe(true);
    }
    expect(new Set(assigned.map((a) => a.vmid)).size).toBe(assigned.length);
  });
});

const rawStorages: ScenarioInput = {
  nodes: [{ name: 'pve1' }, { name: 'pve2' }],
  storages: [
    { id: 'local-lvm', type: 'lvmthin' },
    { id: 'raw-dir', type: 'dir', content: 'images', format: 'raw' },
    { id: 'raw-nfs', type: 'nfs', shared: true, content: 'images', format: 'raw' },
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
  ],
};

describe('linked or full follows pve-storage, and clones to other nodes stay on shared storage', () => {
  it('link-clones raw base images on directory and NFS storage', async () => {
    sim = await fastSim({ scenario: rawStorages });
    const api = client(sim);
    const dir = await cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'on-dir', ...fast });
    expect(dir).toMatchObject({ mode: 'linked', node: 'pve1' });
    expect(dir.fallbackReason).toBeUndefined();
    const nfs = await cloneVm(api, { source: { node: 'pve1', vmid: 9001 }, name: 'on-nfs', target: 'pve2', ...fast });
    expect(nfs).toMatchObject({ mode: 'linked', node: 'pve2' });
    expect(sim.state.guests.get(nfs.vmid)?.config.scsi0).toMatch(/^raw-nfs:9001\/base-9001-disk-0\.raw\/\d+\//);
  });

  it('plans a template whose disk is shared but whose cloud-init drive is local as local: clones only where the base is, never to another node', async () => {
    sim = await startPveSim({ timeScale: 200 });
    sim.editGuestConfig(9002, { ide2: 'local-lvm:vm-9002-cloudinit,media=cdrom' });
    const students = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const { api, catalog, engine } = await labOver(sim, { students });
    clients.push(api);
    await catalog.create({
      name: 'nfs-disk',
      memory: 1024,
      cores: 1,
      mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9002 }],
    });
    const plan = await engine.plan({ classId: 'cs101', count: students.length, template: 'nfs-disk' });
    expect(plan.storage).toEqual({ id: 'nfs-shared', shared: false, type: 'nfs' });
    const summary = await engine.deploy({ classId: 'cs101', count: students.length, template: 'nfs-disk' });
    expect(summary.status).toBe('done');
    const clones = [...sim.state.tasks.tasks.values()].filter((t) => t.type === 'qmclone');
    expect(clones.map((t) => t.exitstatus).filter((e) => e !== 'OK')).toEqual([]);
    // Every clone ran on the node that holds its source: no `target` with local volumes was sent.
    for (const c of sim.state.acceptedClones) expect(c.node).toBe(sim.state.guests.get(c.sourceVmid)?.node);
  });

  it('refuses a clone to another node onto non-shared storage before asking PVE', async () => {
    sim = await fastSim({ scenario: rawStorages });
    const api = client(sim);
    const ontoLocal = cloneVm(api, {
      source: { node: 'pve1', vmid: 9001 },
      name: 'x',
      mode: 'full',
      target: 'pve2',
      storage: 'local-lvm',
      ...fast,
    });
    await expect(ontoLocal).rejects.toBeInstanceOf(CloneTargetStorageError);
    await expect(ontoLocal).rejects.toMatchObject({ code: 'LAB_CLONE_TARGET_STORAGE', data: { storage: 'local-lvm' } });
    const fromLocal = cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'x', target: 'pve2', ...fast });
    await expect(fromLocal).rejects.toMatchObject({ code: 'LAB_CLONE_TARGET_STORAGE', data: { storage: 'raw-dir' } });
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(0);
  });
});

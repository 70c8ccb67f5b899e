import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim, type ScenarioInput } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

const upidOf = (r: { status: number; body: { data?: unknown } }): string => {
  expect(r.status).toBe(200);
  return r.body.data as string;
};

// qemu-server src/PVE/API2/Qemu.pm destroy_vm, vm_start, vm_stop, vm_shutdown and
// src/PVE/QemuServer.pm destroy_vm, vm_start, vm_start_nolock, _do_vm_stop (e6352be6).
describe('PVE checks these inside the task, so the request gets a UPID and the task fails', () => {
  it('fails the destroy of a locked VM as a task and leaves it in place', async () => {
    sim = await fastSim();
    sim.editGuestConfig(102, { lock: 'backup' });
    const upid = upidOf(await call(sim, 'DELETE', '/nodes/pve3/qemu/102', { params: { purge: 1 } }));
    expect(upid).toContain(':qmdestroy:102:');
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'VM is locked (backup)' });
    expect((await taskLog(sim, upid)).at(-1)).toBe('TASK ERROR: VM is locked (backup)');
    expect(sim.state.guests.get(102)?.config.lock).toBe('backup');
    expect(sim.state.storageOn('pve3', 'local-lvm')!.volumes.has('vm-102-disk-0')).toBe(true);
  });

  it('destroys a template on lvm-thin although a linked clone uses it: no volume id tells (§T1), the clone keeps its disk', async () => {
    sim = await fastSim();
    await waitTask(sim, upidOf(await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 700 } })));
    expect(sim.state.guests.get(700)?.config.scsi0).toMatch(/^local-lvm:vm-700-disk-0,/);
    const upid = upidOf(await call(sim, 'DELETE', '/nodes/pve1/qemu/9000'));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    expect(sim.state.guests.has(9000)).toBe(false);
    expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.has('base-9000-disk-0')).toBe(false);
    expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.has('vm-700-disk-0')).toBe(true);
  });

  it('fails a start the node has no memory for the way QEMU does', async () => {
    const scenario: ScenarioInput = {
      nodes: [{ name: 'pve1', memoryGiB: 4 }],
      storages: [{ id: 'local-lvm', type: 'lvmthin' }],
      guests: [
        { vmid: 100, node: 'pve1', name: 'big', memory: 8192, disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } } },
      ],
    };
    sim = await fastSim({ scenario });
    const upid = upidOf(await call(sim, 'POST', '/nodes/pve1/qemu/100/status/start'));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'start failed: QEMU exited with code 1' });
    expect((await taskLog(sim, upid)).slice(-2)).toEqual([
      "kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory",
      'TASK ERROR: start failed: QEMU exited with code 1',
    ]);
    expect(sim.state.guests.get(100)?.status).toBe('stopped');
  });

  it('ends a shutdown or stop of a stopped VM as a task that is OK, even while it is locked', async () => {
    sim = await fastSim();
    sim.editGuestConfig(102, { lock: 'backup' });
    for (const action of ['shutdown', 'stop']) {
      const upid = upidOf(await call(sim, 'POST', `/nodes/pve3/qemu/102/status/${action}`));
      expect(upid).toContain(`:qm${action}:102:`);
      expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'OK' });
    }
    expect(sim.state.guests.get(102)?.status).toBe('stopped');
  });

  it('fails the shutdown of a running, locked VM as a task', async () => {
    sim = await fastSim();
    sim.editGuestConfig(100, { lock: 'backup' });
    const upid = upidOf(await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown'));
    expect(await waitTask(sim, upid)).toMatchObject({ exitstatus: 'VM is locked (backup)' });
    expect(sim.state.guests.get(100)?.status).toBe('running');
  });

  it('still refuses at once what PVE checks before forking: a running VM is not destroyed, a stopped one not rebooted', async () => {
    sim = await fastSim({ scenario: structuredClone(presets.small!) });
    expect((await call(sim, 'DELETE', '/nodes/pve1/qemu/100')).reason).toBe('VM 100 is running - destroy failed');
    expect((await call(sim, 'POST', '/nodes/pve3/qemu/102/status/reboot')).reason).toBe('VM 102 not running');
  });
});

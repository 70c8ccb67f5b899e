import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

/** `small` plus a template whose disk is on the directory storage `local` (qcow2). */
function withDirTemplate() {
  const base = structuredClone(presets.small!);
  base.guests = [
    ...(base.guests ?? []),
    {
      vmid: 9500,
      node: 'pve1',
      name: 'dir-template',
      template: true,
      disks: { scsi0: { storage: 'local', sizeGiB: 8 } },
    },
  ];
  return base;
}

/** The log lines without AbstractMigrate's `YYYY-MM-DD HH:MM:SS ` prefix. */
const withoutTimes = (lines: string[]) => lines.map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, ''));

describe('migration checks inside the task (qemu-server QemuMigrate.pm scan_local_volumes, AbstractMigrate.pm)', () => {
  it('aborts a live migration of local disks without with-local-disks, and the VM stays', async () => {
    sim = await fastSim();
    // The abort takes no PVE time: with the clock held, its duration is exactly 00:00:00.
    sim.time.pause();
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/100/migrate', { params: { target: 'pve2', online: 1 } });
    expect(r.status).toBe(200);
    const upid = r.body.data as string;
    expect(upid).toContain(':qmigrate:100:');
    expect((await waitTask(sim, upid)).exitstatus).toBe('migration aborted');
    const lines = withoutTimes(await taskLog(sim, upid));
    expect(lines).toEqual([
      "starting migration of VM 100 to node 'pve2' (127.0.1.2)",
      "found local disk 'local-lvm:vm-100-disk-0' (attached)",
      "can't migrate local disk 'local-lvm:vm-100-disk-0': can't live migrate attached local disks without with-local-disks option",
      "ERROR: Problem found while scanning volumes - can't migrate VM - check log",
      'aborting phase 1 - cleanup resources',
      "ERROR: migration aborted (duration 00:00:00): Problem found while scanning volumes - can't migrate VM - check log",
      'TASK ERROR: migration aborted',
    ]);
    expect(sim.state.guests.get(100)).toMatchObject({ node: 'pve1', status: 'running' });
    expect(sim.state.guests.get(100)?.config.lock).toBeUndefined();
  });

  it('moves a running VM with with-local-disks', async () => {
    sim = await fastSim();
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/100/migrate', {
      params: { target: 'pve2', online: 1, 'with-local-disks': 1 },
    });
    expect((await waitTask(sim, r.body.data as string)).exitstatus).toBe('OK');
    expect(sim.state.guests.get(100)?.node).toBe('pve2');
  });

  it('refuses at once a running VM without online, as the API does before forking', async () => {
    sim = await fastSim();
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/100/migrate', { params: { target: 'pve2' } });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("can't migrate running VM without --online");
  });

  it("aborts a linked clone on local directory storage: it's a clone of its base", async () => {
    sim = await fastSim({ scenario: withDirTemplate() });
    const clone = await call(sim, 'POST', '/nodes/pve1/qemu/9500/clone', { params: { newid: 600, name: 'linked' } });
    expect((await waitTask(sim, clone.body.data as string)).exitstatus).toBe('OK');
    const volid = sim.state.guests.get(600)!.config.scsi0!.split(',')[0]!;
    expect(volid).toBe('local:9500/base-9500-disk-0.qcow2/600/vm-600-disk-0.qcow2');
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/600/migrate', { params: { target: 'pve2' } });
    const upid = r.body.data as string;
    expect((await waitTask(sim, upid)).exitstatus).toBe('migration aborted');
    expect(withoutTimes(await taskLog(sim, upid))).toContain(
      `ERROR: Problem found while scanning volumes - can't migrate '${volid}' as it's a clone of 'base-9500-disk-0.qcow2' at /usr/share/perl5/PVE/QemuMigrate.pm line 586.`,
    );
    expect(sim.state.guests.get(600)?.node).toBe('pve1');
  });

  it('moves a linked clone on lvm-thin, whose thin snapshot names no base', async () => {
    sim = await fastSim();
    const clone = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 601, name: 'thin' } });
    expect((await waitTask(sim, clone.body.data as string)).exitstatus).toBe('OK');
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/601/migrate', { params: { target: 'pve2' } });
    expect((await waitTask(sim, r.body.data as string)).exitstatus).toBe('OK');
    expect(sim.state.guests.get(601)?.node).toBe('pve2');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { MigrationNotPossibleError } from '../src/errors/index.js';
import type { ProxmoxClient } from '../src/index.js';
import { migrateVm } from '../src/cloning/migrate-vm.js';
import { waitForTask } from '../src/tasks/wait-for-task.js';
import { clientFor, fastSim } from './helpers.js';

let sim: PveSim;
let api: ProxmoxClient;
afterEach(async () => {
  await api?.close();
  await sim?.close();
});

const MIGRATIONS = 'POST /nodes/{node}/qemu/{vmid}/migrate';
const wait = { pollIntervalMs: 20, timeoutMs: 30_000 };
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('migration preconditions checked before asking (qemu-server QemuMigrate.pm scan_local_volumes)', () => {
  it('refuses a running VM with local disks, saying to stop it, and sends nothing', async () => {
    sim = await fastSim();
    api = clientFor(sim);
    const error = await refusal(migrateVm(api, { node: 'pve1', vmid: 100, target: 'pve2' }, wait));
    expect(error).toBeInstanceOf(MigrationNotPossibleError);
    expect(error).toMatchObject({
      code: 'LAB_MIGRATION_NOT_POSSIBLE',
      message:
        'VM 100 cannot move from pve1 to pve2: it is running and has local disks (local-lvm:vm-100-disk-0); stop it first: the lab moves only stopped VMs',
    });
    expect(sim.requests.count(MIGRATIONS)).toBe(0);
  });

  it("refuses a linked clone on local directory storage (PVE: it's a clone of its base)", async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [
      ...(scenario.guests ?? []),
      { vmid: 9500, node: 'pve1', name: 'dir-tpl', template: true, disks: { scsi0: { storage: 'local', sizeGiB: 8 } } },
    ];
    sim = await fastSim({ scenario });
    api = clientFor(sim);
    await waitForTask(api, await api.post<string>('/nodes/pve1/qemu/9500/clone', { newid: 600, name: 'linked' }), wait);
    const error = await refusal(migrateVm(api, { node: 'pve1', vmid: 600, target: 'pve2' }, wait));
    expect(error).toBeInstanceOf(MigrationNotPossibleError);
    expect((error as MigrationNotPossibleError).message).toContain(
      'its disk local:9500/base-9500-disk-0.qcow2/600/vm-600-disk-0.qcow2 is a linked clone of base-9500-disk-0.qcow2',
    );
    expect((error as MigrationNotPossibleError).message).toContain('make a full clone instead');
    expect(sim.requests.count(MIGRATIONS)).toBe(0);
    expect(sim.state.guests.get(600)?.node).toBe('pve1');
  });

  it('migrates a stopped VM whose disks PVE can copy', async () => {
    sim = await fastSim();
    api = clientFor(sim);
    await migrateVm(api, { node: 'pve3', vmid: 102, target: 'pve2' }, wait);
    expect(sim.state.guests.get(102)?.node).toBe('pve2');
    expect(sim.requests.count(MIGRATIONS)).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { VmPower, type ProxmoxClient } from '../src/index.js';
import { fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const ADMIN = { personId: null, username: 'root', role: 'admin' as const };

describe('a guest that never powers off (qemu-server _do_vm_stop: "VM quit/powerdown failed - got timeout")', () => {
  it('is stopped hard after the grace of a /myvm shutdown, and the audit says why', async () => {
    sim = await fastSim({ timeScale: 1000 });
    const lab = await labOver(sim);
    api = lab.api;
    expect((await lab.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' })).status).toBe('done');
    const alice = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-alice')!;
    const power = new VmPower({ store: lab.store, clusters: lab.clusters, pollIntervalMs: 20 });
    await power.perform(ADMIN, 'lab', alice.vmid, 'start');
    sim.setIgnoresAcpi(alice.vmid, true);
    const result = await power.perform(ADMIN, 'lab', alice.vmid, 'shutdown', { shutdownTimeoutS: 20 });
    expect(result.status).toBe('stopped');
    expect(sim.state.guests.get(alice.vmid)?.status).toBe('stopped');
    expect(await lab.store.inventory.get('lab', alice.vmid)).toMatchObject({ status: 'stopped' });
    const shutdowns = [...sim.state.tasks.tasks.values()].filter((t) => t.id === String(alice.vmid));
    expect(shutdowns.map((t) => [t.type, t.exitstatus])).toEqual([
      ['qmstart', 'OK'],
      ['qmshutdown', 'VM quit/powerdown failed - got timeout'],
      ['qmstop', 'OK'],
    ]);
    const audit = await lab.store.audit.list({ actor: 'root', action: 'vm.shutdown' });
    expect(audit.map((a) => [a.outcome, a.details.forced, a.details.forcedBecause])).toEqual([
      ['ok', true, `VM ${alice.vmid} did not power off within 20 s of a shutdown request, so it was stopped hard`],
    ]);
  });

  it('lets a guest that obeys power off by itself, with no hard stop', async () => {
    sim = await fastSim({ timeScale: 1000 });
    const lab = await labOver(sim);
    api = lab.api;
    expect((await lab.engine.deploy({ classId: 'cs101', count: 1, template: 'ubuntu' })).status).toBe('done');
    const alice = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-alice')!;
    const power = new VmPower({ store: lab.store, clusters: lab.clusters, pollIntervalMs: 20 });
    await power.perform(ADMIN, 'lab', alice.vmid, 'start');
    await power.perform(ADMIN, 'lab', alice.vmid, 'shutdown', { shutdownTimeoutS: 20 });
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/stop')).toBe(0);
    const audit = await lab.store.audit.list({ actor: 'root', action: 'vm.shutdown' });
    expect(audit[0]?.details.forced).toBeUndefined();
  });

  it('publishing with shutdown stops a teacher VM that ignores it, audited with the reason, and still publishes', async () => {
    sim = await fastSim({ timeScale: 2000 });
    const lab = await labOver(sim);
    api = lab.api;
    expect((await lab.engine.deploy({ classId: 'cs101', count: 1, template: 'ubuntu' })).status).toBe('done');
    const teacher = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-teacher')!;
    teacher.status = 'running';
    sim.setIgnoresAcpi(teacher.vmid, true);
    const plan = await lab.engine.planPublish({ classId: 'cs101', mode: 'shutdown', requestedBy: 'teacher' });
    expect(plan.teacher.running).toBe(true);
    expect(await (await lab.engine.applyPublish(plan)).done).toMatchObject({ status: 'done', created: 1 });
    expect([...sim.state.guests.values()].some((g) => g.config.name === 'cs101-base-v2')).toBe(true);
    const stops = await lab.store.audit.list({ actor: 'teacher', action: 'vm.stop' });
    expect(stops.map((a) => [a.target, a.outcome, a.details.reason])).toEqual([
      [
        `lab/${teacher.vmid}`,
        'ok',
        `VM ${teacher.vmid} did not power off within 300 s of a shutdown request, so it was stopped hard to publish cs101-base-v2`,
      ],
    ]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { ClassScheduler, parseMinutes, parseScheduleSpec, type Clock, type ProxmoxClient } from '../src/index.js';
import { fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const MONDAY = Date.parse('2026-11-30T00:00:00Z');

/** A clock the test moves; `sleep` yields briefly without moving it (task polling). */
function fakeClock(start: number): Clock & { set(iso: string): void } {
  let now = start;
  return {
    now: () => now,
    sleep: () => new Promise((resolve) => setTimeout(resolve, 5)),
    set: (iso) => {
      now = Date.parse(iso);
    },
  };
}

describe('a 30-student class session on PVE 9 with guests that ignore ACPI', () => {
  it('starts and stops every VM with one bulk request each, stops the deaf ones hard and audits each VM', async () => {
    sim = await fastSim({
      timeScale: 400,
      scenario: { ...structuredClone(presets.small!), guestBehaviour: { ignoreAcpiRate: 0.2 } },
    });
    const students = Array.from({ length: 30 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
    const lab = await labOver(sim, { students });
    api = lab.api;
    expect((await lab.engine.deploy({ classId: 'cs101', count: 30, template: 'ubuntu' })).status).toBe('done');
    const clock = fakeClock(MONDAY);
    await lab.store.schedules.add({
      classId: 'cs101',
      ...parseScheduleSpec('mon 09:00-10:30'),
      timezone: 'UTC',
      startBeforeMin: parseMinutes('10m'),
      skipDates: [],
      createdBy: 'teacher',
      createdAt: MONDAY,
    });
    const scheduler = new ClassScheduler({
      store: lab.store,
      clusters: lab.clusters,
      clock,
      pollIntervalMs: 20,
      shutdownTimeoutS: 30,
    });
    sim.requests.reset();
    clock.set('2026-11-30T08:55:00Z');
    const started = await scheduler.runOnce();
    expect(started.filter((a) => a.outcome === 'ok')).toHaveLength(30);
    const studentVms = (await lab.store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
    expect(studentVms.every((a) => sim.state.guests.get(a.vmid)?.status === 'running')).toBe(true);

    clock.set('2026-11-30T10:31:00Z');
    const stopped = await scheduler.runOnce();
    expect(stopped.filter((a) => a.outcome === 'ok')).toHaveLength(30);
    expect(studentVms.every((a) => sim.state.guests.get(a.vmid)?.status === 'stopped')).toBe(true);
    for (const a of studentVms)
      expect(await lab.store.inventory.get('lab', a.vmid)).toMatchObject({ status: 'stopped' });

    expect(sim.requests.count('POST /cluster/bulk-action/guest/start')).toBe(1);
    expect(sim.requests.count('POST /cluster/bulk-action/guest/shutdown')).toBe(1);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(0);
    const deaf = studentVms.filter((a) => sim.state.guests.get(a.vmid)?.ignoresAcpi).map((a) => `lab/${a.vmid}`);
    expect(deaf.length).toBeGreaterThan(0);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/stop')).toBe(deaf.length);
    const audit = await lab.store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    const ok = audit.filter((a) => a.outcome === 'ok');
    expect(ok).toHaveLength(30);
    expect(
      ok
        .filter((a) => a.details.forced === true)
        .map((a) => a.target)
        .sort(),
    ).toEqual(deaf.sort());
  });
});

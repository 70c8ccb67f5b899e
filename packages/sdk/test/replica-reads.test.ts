import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import type { ProxmoxClient } from '../src/index.js';
import { fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

/** A class of 6 that does not fit on the template's node, so the base is copied to pve2 and pve3. */
async function replicatingLab() {
  const scenario = structuredClone(presets.small!);
  scenario.nodes = [
    { name: 'pve1', memoryGiB: 12 },
    { name: 'pve2', memoryGiB: 128 },
    { name: 'pve3', memoryGiB: 128 },
  ];
  sim = await fastSim({ timeScale: 400, scenario });
  const lab = await labOver(sim);
  api = lab.api;
  const plan = await lab.engine.plan({ classId: 'cs101', count: 6, template: 'ubuntu' });
  expect(plan.base.node).toBe('pve1');
  expect(plan.replicateBaseTo).toEqual(['pve2', 'pve3']);
  return { lab, plan };
}

const studentsOn = (node: string) =>
  [...sim.state.guests.values()].filter(
    (g) =>
      g.node === node &&
      g.config.template !== '1' &&
      /^cs101-/.test(g.config.name ?? '') &&
      !/teacher|base/.test(g.config.name ?? ''),
  );

describe('a base replica', () => {
  it('retries a read that fails once with HTTP 500, so no student of that node fails', async () => {
    const { lab, plan } = await replicatingLab();
    sim.faults.add({ method: 'GET', path: '/nodes/pve2/', kind: 'http-500', count: 1 });
    const summary = await (await lab.engine.apply(plan)).done;
    expect(sim.faults.list()[0]!.hits).toBe(1);
    expect(summary).toMatchObject({ status: 'done', failed: [] });
    expect(summary.replanned).toBeUndefined();
    expect(
      [...sim.state.guests.values()].some(
        (g) => g.node === 'pve2' && g.config.template === '1' && g.config.name === 'cs101-base',
      ),
    ).toBe(true);
  });

  it('moves the students of a node its copy could not reach to nodes with the base, and says so', async () => {
    const { lab, plan } = await replicatingLab();
    const planned = plan.vms.filter((v) => v.role === 'student' && v.node === 'pve2').map((v) => v.name);
    expect(planned.length).toBeGreaterThan(0);
    sim.faults.add({ method: 'GET', path: '/nodes/pve2/', kind: 'http-500' });
    const summary = await (await lab.engine.apply(plan)).done;
    expect(summary.failed.map((f) => f.name)).toEqual(['cs101-base@pve2']);
    expect(summary.replanned?.map((m) => m.name).sort()).toEqual([...planned].sort());
    expect(summary.replanned?.every((m) => m.from === 'pve2' && (m.to === 'pve1' || m.to === 'pve3'))).toBe(true);
    sim.faults.clear();
    expect(studentsOn('pve2')).toEqual([]);
    const students = await lab.store.classes.assignmentsOfClass('cs101');
    expect(students.filter((a) => a.role === 'student')).toHaveLength(6);
  });
});

import { startPveSim } from '@lab/pve-sim';
import { describe, expect, it } from 'vitest';
import { InvalidDeploymentError } from '../src/errors/index.js';
import { DeploymentEngine, type DeploymentSummary } from '../src/index.js';
import { setLabDefinition } from '../src/deploy/lab-definition.js';
import { labOver } from './deployment-fixture.js';

const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** A lab over the `small` scenario with two templates: `kali` (pve1 and pve2) and `metaspl` (pve1 only), local storage. */
async function twoRoleLab() {
  const sim = await startPveSim({ timeScale: 200 });
  const lab = await labOver(sim, { students: STUDENTS });
  await lab.catalog.create({
    name: 'kali',
    memory: 2048,
    cores: 2,
    mappings: [
      { clusterId: 'lab', node: 'pve1', vmid: 9000 },
      { clusterId: 'lab', node: 'pve2', vmid: 9100 },
    ],
  });
  await lab.catalog.create({
    name: 'metaspl',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  const clock = { now: () => Date.now() };
  await setLabDefinition(
    { store: lab.store, catalog: lab.catalog, clock: clock as never },
    {
      classId: 'cs101',
      roles: [
        { name: 'attacker', template: 'kali' },
        { name: 'target', template: 'metaspl', cores: 1, memory: 1024 },
      ],
      // The templates' own bridge: private networks (and the sdn settings they need) are in lab-roles-networks.test.ts.
      network: { mode: 'bridge' },
      actor: 'teacher',
    },
  );
  return { sim, ...lab };
}

const guestsOf = (sim: Awaited<ReturnType<typeof startPveSim>>) =>
  [...sim.state.guests.values()].filter((g) => (g.config.tags ?? '').includes('class-cs101'));

describe('a class with two roles per student', () => {
  it('gets one VM per student and role, a teacher VM and a base per role, each student set on one node', async () => {
    const { sim, api, store, engine } = await twoRoleLab();
    try {
      const summaries: DeploymentSummary[] = await engine.deployLab({
        classId: 'cs101',
        count: 5,
        maxVmsPerNode: 3,
        requestedBy: 'teacher',
      });
      expect(summaries.map((s) => s.status)).toEqual(['done', 'done']);
      const guests = guestsOf(sim);
      const students = guests.filter((g) => g.config.tags!.includes('role-student'));
      expect(students.map((g) => g.config.name).sort()).toEqual(
        STUDENTS.flatMap((u) => [`cs101-${u}-attacker`, `cs101-${u}-target`]).sort(),
      );
      expect(students).toHaveLength(10);
      const teachers = guests.filter((g) => g.config.tags!.includes('role-teacher')).map((g) => g.config.name);
      expect(teachers.sort()).toEqual(['cs101-attacker-teacher', 'cs101-target-teacher']);
      const bases = guests.filter((g) => g.config.tags!.includes('role-base') && !g.config.tags!.includes('replica'));
      expect(bases.map((g) => g.config.name).sort()).toEqual(['cs101-attacker-base', 'cs101-target-base']);
      // Tags carry the role; the target role's size replaces the template's.
      for (const g of students) expect(DeploymentEngine.labRoleOf(g.config)).toBe(g.config.name!.split('-').at(-1));
      for (const g of students.filter((x) => x.config.name!.endsWith('-target'))) {
        expect(Number(g.config.cores)).toBe(1);
        expect(Number(g.config.memory)).toBe(1024);
      }
      // The students were spread over more than one node, and each student's two VMs share one.
      const nodeOf = new Map(students.map((g) => [g.config.name!, g.node]));
      expect(new Set(students.map((g) => g.node)).size).toBeGreaterThan(1);
      for (const u of STUDENTS) expect(nodeOf.get(`cs101-${u}-target`)).toBe(nodeOf.get(`cs101-${u}-attacker`));
      // Each linked clone of the target role sits beside a copy of the target base (local storage).
      const targetBaseNodes = new Set(guests.filter((g) => g.config.name === 'cs101-target-base').map((g) => g.node));
      for (const g of students.filter((x) => x.config.name!.endsWith('-target')))
        expect(targetBaseNodes.has(g.node)).toBe(true);
      // The store assigns both to the student.
      const alice = (await store.classes.getPersonByUsername('alice'))!;
      expect((await store.classes.assignmentsOf(alice.id)).map((a) => a.role)).toEqual(['student', 'student']);

      // A second deploy keeps all of them.
      const again = await engine.deployLab({ classId: 'cs101', count: 5, requestedBy: 'teacher' });
      expect(again.map((s) => s.created)).toEqual([0, 0]);
      expect(guestsOf(sim)).toHaveLength(guests.length);
    } finally {
      await api.close();
      await sim.close();
    }
  }, 120_000);

  it('resets one role of one student and leaves the other VMs; destroy removes every VM of the class', async () => {
    const { sim, api, store, engine } = await twoRoleLab();
    try {
      await engine.deployLab({ classId: 'cs101', count: 5, requestedBy: 'teacher' });
      const byName = (name: string) => [...sim.state.guests.values()].find((g) => g.config.name === name)!;
      const target = byName('cs101-alice-target');
      const attacker = byName('cs101-alice-attacker');
      target.config.description = `${target.config.description}\nstudent work`;
      attacker.config.description = `${attacker.config.description}\nstudent work`;

      await expect(engine.planReset({ classId: 'cs101', usernames: ['alice'], labRole: 'nope' })).rejects.toThrow(
        /no base template/,
      );
      const plan = await engine.planReset({ classId: 'cs101', usernames: ['alice'], labRole: 'target' });
      expect(plan.vms.map((v) => v.name)).toEqual(['cs101-alice-target']);
      expect(plan.base.name).toBe('cs101-target-base');
      expect((await (await engine.applyReset(plan)).done).status).toBe('done');
      const fresh = byName('cs101-alice-target');
      expect(fresh).not.toBe(target);
      expect(fresh.config.description).not.toContain('student work');
      expect(fresh.config.tags).toBe('class-cs101;lab;labrole-target;role-student');
      expect(Number(fresh.config.memory)).toBe(1024);
      expect(byName('cs101-alice-attacker')).toBe(attacker);
      expect(attacker.config.description).toContain('student work');
      // A reset by VMID finds the VM's own role.
      const byVmid = await engine.planReset({ classId: 'cs101', vmid: attacker.vmid });
      expect(byVmid).toMatchObject({ labRole: 'attacker', base: { name: 'cs101-attacker-base' } });

      // The target role's teacher VM is published as that role's next base; a reset of the role uses it.
      const publish = await engine.planPublish({ classId: 'cs101', labRole: 'target', requestedBy: 'teacher' });
      expect(publish).toMatchObject({ name: 'cs101-target-base-v2', teacher: { name: 'cs101-target-teacher' } });
      expect((await (await engine.applyPublish(publish)).done).status).toBe('done');
      expect(byName('cs101-target-base-v2').config.tags).toBe('class-cs101;lab;labrole-target;role-base');
      expect((await engine.planReset({ classId: 'cs101', all: true, labRole: 'target' })).base.name).toBe(
        'cs101-target-base-v2',
      );
      expect((await engine.planReset({ classId: 'cs101', all: true, labRole: 'attacker' })).base.name).toBe(
        'cs101-attacker-base',
      );

      const { destroyed } = await engine.destroyClass('cs101', { actor: 'teacher' });
      expect(destroyed.length).toBeGreaterThanOrEqual(14);
      expect(guestsOf(sim)).toEqual([]);
      expect(await store.templates.getByName('cs101-target-base')).toBeUndefined();
      expect(await store.templates.getByName('cs101-attacker-base')).toBeUndefined();
    } finally {
      await api.close();
      await sim.close();
    }
  }, 120_000);

  it('refuses a lab definition with an unknown template, a repeated role or a zone on the bridge', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, catalog } = await labOver(sim);
    const deps = { store, catalog, clock: { now: () => 1 } as never };
    try {
      await expect(
        setLabDefinition(deps, { classId: 'cs101', roles: [{ name: 'a', template: 'nope' }] }),
      ).rejects.toThrow(/no active template 'nope'/);
      await expect(
        setLabDefinition(deps, {
          classId: 'cs101',
          roles: [
            { name: 'a', template: 'ubuntu' },
            { name: 'a', template: 'ubuntu' },
          ],
        }),
      ).rejects.toThrow(/given twice/);
      await expect(
        setLabDefinition(deps, { classId: 'cs101', roles: [{ name: 'Bad!', template: 'ubuntu' }] }),
      ).rejects.toBeInstanceOf(InvalidDeploymentError);
      await expect(
        setLabDefinition(deps, {
          classId: 'cs101',
          roles: [{ name: 'a', template: 'ubuntu' }],
          network: { zone: 'labz' },
        }),
      ).rejects.toThrow(/--network class or --network student/);
      const saved = await setLabDefinition(deps, {
        classId: 'cs101',
        roles: [{ name: 'a', template: 'ubuntu', memory: 512 }],
        network: { mode: 'class', zone: 'labz' },
      });
      expect(saved.network).toEqual({ mode: 'class', zone: 'labz', internet: 'snat' });
      expect(await store.labDefinitions.get('cs101')).toEqual(saved);
    } finally {
      await api.close();
      await sim.close();
    }
  });
});

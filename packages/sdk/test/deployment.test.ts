import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import {
  DeleteConfirmationRequiredError,
  InsufficientCapacityError,
  InvalidDeploymentError,
} from '../src/errors/index.js';
import { DeploymentEngine, type DeploymentEvent, type ProxmoxClient } from '../src/index.js';
import type { ConfigureStudentVm } from '../src/deploy/vm-reset.js';
import { expectSchemaValidRequests, fastSim } from './helpers.js';
import { classVmNames, labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const CLONES = 'POST /nodes/{node}/qemu/{vmid}/clone';

describe('class deployment', () => {
  it('plans a teacher VM, a base template and the students on the base node', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 5, template: 'ubuntu', strategy: 'pack' });
    expect(plan.counts).toEqual({ create: 7, keep: 0, delete: 0 });
    expect(plan.base).toMatchObject({ name: 'cs101-base', action: 'create' });
    expect(plan.vms.map((v) => [v.name, v.role, v.action])).toEqual([
      ['cs101-teacher', 'teacher', 'create'],
      ['cs101-alice', 'student', 'create'],
      ['cs101-bob', 'student', 'create'],
      ['cs101-carol', 'student', 'create'],
      ['cs101-seat-01', 'student', 'create'],
      ['cs101-seat-02', 'student', 'create'],
    ]);
    expect(new Set(plan.vms.filter((v) => v.role === 'student').map((v) => v.node))).toEqual(new Set([plan.base.node]));
    expect(plan.replicateBaseTo).toEqual([]);
    expect(sim.requests.count(CLONES)).toBe(0);
  });

  it('deploys: verified linked clones of the base, tagged, registered and assigned, with progress events', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    const events: DeploymentEvent[] = [];
    const summary = await lab.engine.deploy(
      { classId: 'cs101', count: 4, template: 'ubuntu', strategy: 'pack', requestedBy: 'teacher' },
      { onEvent: (e) => events.push(e) },
    );
    expect(summary).toMatchObject({ status: 'done', created: 6, kept: 0, deleted: 0, failed: [] });
    expect(classVmNames(sim)).toEqual([
      'cs101-alice',
      'cs101-base',
      'cs101-bob',
      'cs101-carol',
      'cs101-seat-01',
      'cs101-teacher',
    ]);
    const base = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-base')!;
    expect(base.config.template).toBe('1');
    expect(base.config.tags).toBe('class-cs101;lab;role-base');
    const alice = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-alice')!;
    expect(alice.config.scsi0).toMatch(new RegExp(`^local-lvm:vm-${alice.vmid}-disk-0,`));
    expect(sim.state.storageOn(alice.node, 'local-lvm')!.volumes.get(`vm-${alice.vmid}-disk-0`)?.thinOrigin).toBe(
      `base-${base.vmid}-disk-0`,
    );
    expect(alice.config.tags).toBe('class-cs101;lab;role-student');
    const teacherVm = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-teacher')!;
    expect(teacherVm.config.scsi0).toMatch(/^local-lvm:vm-\d+-disk-0,/);
    const aliceId = (await lab.store.classes.getPersonByUsername('alice'))!.id;
    expect(await lab.store.classes.assignmentsOf(aliceId)).toEqual([
      expect.objectContaining({ vmid: alice.vmid, classId: 'cs101', role: 'student' }),
    ]);
    expect((await lab.store.inventory.list({ personId: aliceId })).map((v) => v.name)).toEqual(['cs101-alice']);
    expect((await lab.store.templateInventory.list({ classId: 'cs101' }))[0]).toMatchObject({
      vmid: base.vmid,
      isClassTemplate: true,
    });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('planned');
    expect(types.at(-1)).toBe('done');
    expect(events.filter((e) => e.type === 'registered')).toHaveLength(6);
    expect(events.some((e) => e.type === 'cloning' && e.percent !== undefined)).toBe(true);
    const deployment = await lab.engine.getDeployment(summary.deploymentId);
    expect(deployment?.deployment.status).toBe('done');
    expect(deployment?.items.every((i) => i.status === 'done')).toBe(true);
    expect((await lab.store.audit.list({ action: 'class.deploy' }))[0]).toMatchObject({
      actor: 'teacher',
      target: 'cs101',
    });
    expectSchemaValidRequests(sim);
  });

  it('re-applying the same spec sends no clone; scaling up and down does the difference', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    await lab.engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' });
    const clones = sim.requests.count(CLONES);
    const again = await lab.engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' });
    expect(again.counts).toEqual({ create: 0, keep: 5, delete: 0 });
    expect((await lab.engine.apply(again).then((h) => h.done)).status).toBe('done');
    expect(sim.requests.count(CLONES)).toBe(clones);

    const up = await lab.engine.deploy({ classId: 'cs101', count: 6, template: 'ubuntu', strategy: 'pack' });
    expect(up).toMatchObject({ status: 'done', created: 3, kept: 5 });
    expect(classVmNames(sim).filter((n) => n.includes('seat'))).toEqual([
      'cs101-seat-01',
      'cs101-seat-02',
      'cs101-seat-03',
    ]);
    const downPlan = await lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' });
    expect(downPlan.unseated).toEqual(['carol']);
    expect(downPlan.vms.filter((v) => v.action === 'delete').map((v) => [v.name, v.owner])).toEqual([
      ['cs101-carol', 'carol'],
      ['cs101-seat-01', null],
      ['cs101-seat-02', null],
      ['cs101-seat-03', null],
    ]);
    const refused = await lab.engine.apply(downPlan).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DeleteConfirmationRequiredError);
    expect((refused as Error).message).toContain('cs101-carol (');
    expect(classVmNames(sim)).toHaveLength(8);
    const down = await (await lab.engine.apply(downPlan, { confirmDeletes: true })).done;
    expect(down).toMatchObject({ status: 'done', deleted: 4, unseated: ['carol'], orphans: [], duplicates: [] });
    expect(classVmNames(sim)).toEqual(['cs101-alice', 'cs101-base', 'cs101-bob', 'cs101-teacher']);
    expect(await lab.store.classes.assignmentsOfClass('cs101')).toHaveLength(4);
  });

  it('completes correctly through 10 % injected transient faults, with every VM exactly once', async () => {
    sim = await fastSim({ timeScale: 400, seed: 7 });
    const lab = await labOver(sim);
    api = lab.api;
    sim.faults.add({ method: 'GET', kind: 'http-503', rate: 0.1 });
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', kind: 'reset-after', rate: 0.1 });
    sim.faults.add({ method: 'PUT', kind: 'http-503', rate: 0.1 });
    const summary = await lab.engine.deploy({ classId: 'cs101', count: 8, template: 'ubuntu', strategy: 'pack' });
    expect(summary.failed).toEqual([]);
    expect(summary.status).toBe('done');
    const names = classVmNames(sim);
    expect(names).toHaveLength(10);
    expect(new Set(names).size).toBe(10);
    const hits = sim.faults.list().reduce((n, r) => n + r.hits, 0);
    expect(hits).toBeGreaterThan(3);
    for (const g of [...sim.state.guests.values()].filter((x) => (x.config.name ?? '').startsWith('cs101-'))) {
      expect(await lab.store.classes.assignment('lab', g.vmid), g.config.name).toBeDefined();
      expect(g.config.lock).toBeUndefined();
    }
  });

  it("runs at most perStorage clones allocating at once on a storage, and holds no slot through a student's cloud-init step or a teacher's copy", async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim, { students: ['alice', 'bob', 'carol', 'dave'] });
    api = lab.api;
    // Clone tasks per node until their copy starts (a full clone's first `transferred` line) or they end.
    const running = new Map<string, number>();
    let most = 0;
    let copying = 0;
    let besideCopy = 0;
    let cloneStarted: (() => void) | undefined;
    const start = sim.state.tasks.start.bind(sim.state.tasks);
    sim.state.tasks.start = (node, type, id, user, worker) => {
      if (type !== 'qmclone') return start(node, type, id, user, worker);
      running.set(node, (running.get(node) ?? 0) + 1);
      most = Math.max(most, ...running.values());
      if (copying > 0) besideCopy++;
      cloneStarted?.();
      let allocating = true;
      const done = () => {
        if (allocating) running.set(node, running.get(node)! - 1);
        else copying--;
        allocating = false;
      };
      return start(node, type, id, user, (log, warn) =>
        worker((line) => {
          if (allocating && line.startsWith('transferred ')) {
            running.set(node, running.get(node)! - 1);
            allocating = false;
            copying++;
          }
          return log(line);
        }, warn).finally(done),
      );
    };
    // The first student's cloud-init step waits for the next clone to start: with the storage's one
    // slot held through this step that would never happen, and the step gives up after 30 s.
    let overlapped: boolean | undefined;
    const configureStudentVm: ConfigureStudentVm = async (_api, input) => {
      if (overlapped === undefined) {
        overlapped = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 30_000);
          cloneStarted = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        cloneStarted = undefined;
      }
      return input.config;
    };
    const engine = new DeploymentEngine({
      store: lab.store,
      clusters: lab.clusters,
      catalog: lab.catalog,
      pollIntervalMs: 25,
      // The simulator's scale: a task's first status read waits its expected duration on this cluster.
      timeScale: 400,
      limits: { global: 8, perNode: 8, perStorage: 1 },
      configureStudentVm,
    });
    const summary = await engine.deploy({ classId: 'cs101', count: 4, template: 'ubuntu', strategy: 'pack' });
    expect(summary).toMatchObject({ status: 'done', created: 6, failed: [] });
    expect(most).toBe(1);
    expect(overlapped).toBe(true);
    // The teacher's full copy held no storage slot: students were cloned while it copied.
    expect(besideCopy).toBeGreaterThan(0);
  }, 60_000);

  it('shares the node and storage limits between the deployments one engine runs at once', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim, { students: ['alice', 'bob', 'carol'] });
    api = lab.api;
    const teacher = await lab.store.classes.getPersonByUsername('teacher');
    await lab.store.classes.createClass({ id: 'cs102', name: 'CS 102', templateId: null, ownerId: teacher!.id }, 1);
    for (const username of ['dave', 'erin', 'frank']) {
      const p = await lab.store.classes.createPerson({ username, displayName: username, role: 'student' }, 1);
      await lab.store.classes.addMember({ classId: 'cs102', personId: p.id, role: 'student' });
    }
    const running = new Map<string, number>();
    let most = 0;
    const start = sim.state.tasks.start.bind(sim.state.tasks);
    sim.state.tasks.start = (node, type, id, user, worker) => {
      if (type !== 'qmclone') return start(node, type, id, user, worker);
      running.set(node, (running.get(node) ?? 0) + 1);
      most = Math.max(most, ...running.values());
      let allocating = true;
      const stop = () => {
        if (allocating) running.set(node, running.get(node)! - 1);
        allocating = false;
      };
      return start(node, type, id, user, (log, warn) =>
        worker((line) => {
          if (line.startsWith('transferred ')) stop();
          return log(line);
        }, warn).finally(stop),
      );
    };
    const engine = new DeploymentEngine({
      store: lab.store,
      clusters: lab.clusters,
      catalog: lab.catalog,
      pollIntervalMs: 25,
      limits: { perNode: 8, perStorage: 1 },
    });
    const plans = [
      await engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' }),
      await engine.plan({ classId: 'cs102', count: 3, template: 'ubuntu', strategy: 'pack' }),
    ];
    // Both classes land on the same node's local-lvm: one storage lock for both deployments.
    expect(new Set(plans.flatMap((p) => p.vms.map((v) => v.node)))).toEqual(new Set([plans[0]!.base.node]));
    const handles = await Promise.all(plans.map((p) => engine.apply(p)));
    const summaries = await Promise.all(handles.map((h) => h.done));
    for (const summary of summaries) expect(summary).toMatchObject({ status: 'done', created: 5, failed: [] });
    expect(most).toBe(1);
  }, 60_000);

  it('replicates the base to more nodes when one node cannot hold every student', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.nodes = [
      { name: 'pve1', memoryGiB: 12 },
      { name: 'pve2', memoryGiB: 128 },
      { name: 'pve3', memoryGiB: 128 },
    ];
    sim = await fastSim({ timeScale: 400, scenario });
    const lab = await labOver(sim);
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 6, template: 'ubuntu', strategy: 'pack' });
    expect(plan.replicateBaseTo.length).toBeGreaterThan(0);
    expect(plan.replicateBaseTo).not.toContain(plan.base.node);
    const summary = await (await lab.engine.apply(plan)).done;
    expect(summary.status).toBe('done');
    const nodes = new Set(
      [...sim.state.guests.values()]
        .filter((g) => g.config.name?.startsWith('cs101-') && g.config.template !== '1')
        .map((g) => g.node),
    );
    expect(nodes.size).toBeGreaterThan(1);
    for (const node of plan.replicateBaseTo) {
      expect(
        [...sim.state.guests.values()].some(
          (g) => g.node === node && g.config.template === '1' && g.config.name === 'cs101-base',
        ),
      ).toBe(true);
    }
  });

  it('refuses bad input before any clone, saying what to fix', async () => {
    sim = await fastSim();
    const lab = await labOver(sim);
    api = lab.api;
    await expect(
      lab.engine.plan({ classId: 'CS 101', count: 3, template: 'ubuntu', strategy: 'pack' }),
    ).rejects.toThrow(
      'classId: a class id is 2–31 lower-case letters, digits or dashes, starting with a letter (e.g. cs101)',
    );
    await expect(
      lab.engine.plan({ classId: 'cs101', count: -1, template: 'ubuntu', strategy: 'pack' }),
    ).rejects.toThrow('count: the student count cannot be negative');
    await expect(lab.engine.plan({ classId: 'cs999', count: 3, template: 'ubuntu', strategy: 'pack' })).rejects.toThrow(
      "no class 'cs999'; create it first (classes: cs101)",
    );
    await expect(lab.engine.plan({ classId: 'cs101', count: 3, template: 'debian' })).rejects.toBeInstanceOf(
      InvalidDeploymentError,
    );
    const tooMany = await lab.engine
      .plan({ classId: 'cs101', count: 400, template: 'ubuntu', strategy: 'pack' })
      .catch((e: unknown) => e);
    expect(tooMany).toBeInstanceOf(InsufficientCapacityError);
    expect((tooMany as Error).message).toMatch(/^400 VMs were asked for but only \d+ fit: /);
    expect(sim.requests.count(CLONES)).toBe(0);
  });

  it('destroys a class: its VMs, then its base template, and forgets them', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    await lab.engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' });
    await waitStarted(sim, lab.api);
    const result = await lab.engine.destroyClass('cs101', { actor: 'teacher' });
    expect(result.destroyed).toHaveLength(5);
    expect(classVmNames(sim)).toEqual([]);
    expect(await lab.store.classes.assignmentsOfClass('cs101')).toEqual([]);
    expect(await lab.store.inventory.list({ search: 'cs101' })).toEqual([]);
    expect(await lab.store.templates.getByName('cs101-base')).toBeUndefined();
    const again = await lab.engine.destroyClass('cs101');
    expect(again.destroyed).toEqual([]);
  });
});

/** Starts one student's VM so destroy has to stop it first. */
async function waitStarted(sim: PveSim, api: ProxmoxClient): Promise<void> {
  const vm = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-alice')!;
  const { waitForTask } = await import('../src/pve/index.js');
  await waitForTask(api, await api.post<string>(`/nodes/${vm.node}/qemu/${vm.vmid}/status/start`), {
    pollIntervalMs: 20,
  });
  expect(sim.state.guests.get(vm.vmid)?.status).toBe('running');
}

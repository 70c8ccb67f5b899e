import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { cloneVm } from '../src/pve/index.js';
import { DeploymentEngine, type ProxmoxClient, type Store } from '../src/index.js';
import { DeploymentInProgressError, VmNameConflictError } from '../src/errors/index.js';
import { closeAfterEach, expectSchemaValidRequests, fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

const { track } = closeAfterEach();

/** A VM somebody made by hand: a full clone of the ubuntu template, untagged, no marker. */
async function handMade(api: ProxmoxClient, name: string): Promise<number> {
  return (await cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name, mode: 'full', pollIntervalMs: 20 })).vmid;
}

async function enrol(store: Store, classId: string, usernames: string[]): Promise<void> {
  for (const username of usernames) {
    const person =
      (await store.classes.getPersonByUsername(username)) ??
      (await store.classes.createPerson({ username, displayName: username, role: 'student' }, 1));
    await store.classes.addMember({ classId, personId: person.id, role: 'student' });
  }
}

function guest(sim: PveSim, vmid: number) {
  return sim.state.guests.get(vmid);
}

describe('a class deployment touches only what is the class’s', () => {
  it('stops at a hand-made VM with a name it needs, names it and how to adopt it, and then keeps it', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const lab = await labOver(sim);
    track(lab.api);
    const stranger = await handMade(lab.api, 'cs101-alice');
    const bystander = await handMade(lab.api, 'cs101-zed');
    const error = await lab.engine
      .plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmNameConflictError);
    expect((error as VmNameConflictError).code).toBe('LAB_DEPLOY_CONFLICT');
    expect((error as Error).message).toBe(
      `VM ${stranger} on pve1 is named cs101-alice but does not belong to cs101; rename it in Proxmox, or take it over with \`lab adopt ${stranger} --class cs101 --student alice\`.`,
    );
    expect(
      sim.state.acceptedClones.filter(
        (c) => c.name?.startsWith('cs101-') && c.name !== 'cs101-alice' && c.name !== 'cs101-zed',
      ),
    ).toEqual([]);

    const alice = (await lab.store.classes.getPersonByUsername('alice'))!;
    await lab.engine.adoptVm({
      clusterId: 'lab',
      vmid: stranger,
      classId: 'cs101',
      personId: alice.id,
      actor: 'teacher',
    });
    const plan = await lab.engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' });
    expect(plan.vms.find((v) => v.owner === 'alice')).toMatchObject({ action: 'keep', vmid: stranger });
    const summary = await (await lab.engine.apply(plan)).done;
    expect(summary).toMatchObject({ status: 'done', failed: [], orphans: [], unregistered: [], duplicates: [] });
    expect(guest(sim, stranger)?.config.tags).toBe('class-cs101;lab;role-student');

    // Scaling down to one seat deletes only class VMs; the bystander is never even listed.
    const down = await lab.engine.plan({ classId: 'cs101', count: 1, template: 'ubuntu', strategy: 'pack' });
    expect(down.vms.filter((v) => v.action === 'delete').map((v) => v.vmid)).not.toContain(bystander);
    await (
      await lab.engine.apply(down, { confirmDeletes: true })
    ).done;
    expect(guest(sim, bystander)?.config.name).toBe('cs101-zed');
    expect(guest(sim, stranger)?.config.name).toBe('cs101-alice');
    await lab.engine.destroyClass('cs101');
    expect(guest(sim, bystander)?.config.name).toBe('cs101-zed');
    expectSchemaValidRequests(sim);
  });

  it('leaves a class whose id starts with ours alone when ours scales down or is destroyed', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const lab = await labOver(sim);
    track(lab.api);
    const other = await lab.store.classes.createPerson(
      { username: 'hopper', displayName: 'Grace', role: 'teacher' },
      1,
    );
    await lab.store.classes.createClass({ id: 'cs101-b', name: 'CS 101 B', templateId: null, ownerId: other.id }, 1);
    await enrol(lab.store, 'cs101-b', ['dan', 'eve', 'fay']);
    expect(
      (await lab.engine.deploy({ classId: 'cs101-b', count: 3, template: 'ubuntu', strategy: 'pack' })).status,
    ).toBe('done');
    const theirs = [...sim.state.guests.values()]
      .filter((g) => g.config.tags?.includes('class-cs101-b'))
      .map((g) => g.vmid)
      .sort();
    expect(theirs).toHaveLength(5);

    expect((await lab.engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })).status).toBe(
      'done',
    );
    const down = await lab.engine.plan({ classId: 'cs101', count: 1, template: 'ubuntu', strategy: 'pack' });
    for (const d of down.vms.filter((v) => v.action === 'delete')) expect(theirs).not.toContain(d.vmid);
    expect((await (await lab.engine.apply(down, { confirmDeletes: true })).done).status).toBe('done');
    await lab.engine.destroyClass('cs101');
    expect(
      [...sim.state.guests.values()]
        .filter((g) => g.config.tags?.includes('class-cs101-b'))
        .map((g) => g.vmid)
        .sort(),
    ).toEqual(theirs);
    expect([...sim.state.guests.values()].filter((g) => g.config.tags?.includes('class-cs101;'))).toEqual([]);
  });

  it('gives two usernames that map to one VM name two names, says so in the plan, and deploys both', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const lab = await labOver(sim, { students: ['j.doe', 'j_doe'] });
    track(lab.api);
    const plan = await lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' });
    expect(plan.vms.filter((v) => v.role === 'student').map((v) => [v.owner, v.name])).toEqual([
      ['j.doe', 'cs101-j-doe'],
      ['j_doe', 'cs101-j-doe-2'],
    ]);
    expect(plan.notes).toEqual(["j_doe: VM named cs101-j-doe-2 because cs101-j-doe is taken by j.doe's VM"]);
    const summary = await (await lab.engine.apply(plan)).done;
    expect(summary).toMatchObject({ status: 'done', created: 4, failed: [] });
    const again = await lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' });
    expect(again.counts).toEqual({ create: 0, keep: 4, delete: 0 });
  });

  it('runs one deployment per class: a second one, in this process or another, is told who started the first and when', async () => {
    const sim = track(await fastSim({ timeScale: 200 }));
    const lab = await labOver(sim);
    track(lab.api);
    const other = new DeploymentEngine({
      store: lab.store,
      clusters: lab.clusters,
      catalog: lab.catalog,
      pollIntervalMs: 25,
    });
    const planA = await lab.engine.plan({
      classId: 'cs101',
      count: 3,
      template: 'ubuntu',
      strategy: 'pack',
      requestedBy: 'teacher',
    });
    const planB = await other.plan({
      classId: 'cs101',
      count: 3,
      template: 'ubuntu',
      strategy: 'pack',
      requestedBy: 'admin',
    });
    const running = await lab.engine.apply(planA);
    const refused = await Promise.all([
      other.apply(planB).catch((e: unknown) => e),
      lab.engine.apply(planA).catch((e: unknown) => e),
      other.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' }).catch((e: unknown) => e),
    ]);
    for (const error of refused) {
      expect(error).toBeInstanceOf(DeploymentInProgressError);
      expect((error as Error).message).toMatch(
        /^A deployment of cs101 started by teacher at \d{4}-\d\d-\d\d \d\d:\d\d UTC is still running; wait for it to finish, then try again\. If the process that ran it has stopped, it is taken over automatically within about 30 s: run the command again then\.$/,
      );
    }
    expect((await running.done).status).toBe('done');
    const names = sim.state.acceptedClones.map((c) => c.name);
    expect(names.length).toBe(new Set(names).size);
    expect((await other.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })).status).toBe(
      'done',
    );
    expect(sim.state.acceptedClones.map((c) => c.name)).toEqual(names);
  });

  it('tells a teacher whose class deployment belongs to a bot that stopped responding how long ago and when it is taken over', async () => {
    const sim = track(await fastSim({ timeScale: 200 }));
    const lab = await labOver(sim);
    track(lab.api);
    const plan = await lab.engine.plan({
      classId: 'cs101',
      count: 3,
      template: 'ubuntu',
      strategy: 'pack',
      requestedBy: 'lovelace',
    });
    const now = Date.now();
    // The owner last renewed its 30 s lease 21 s ago (past the 20 s renewal due) and then died: the lease runs out in 9 s.
    await lab.store.sync.acquireLease('deployment:cs101', 'dead-bot', 30_000, now - 21_000);
    const error = await lab.engine.apply(plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentInProgressError);
    const takeoverAt = new Date(now + 9_000 + 15_000).toISOString().replace('T', ' ').slice(0, 19);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^A deployment of cs101 started by lovelace at [0-9: -]+ UTC has had no heartbeat from its bot for 2\\d s; another bot takes it over after ${takeoverAt.slice(0, 17)}\\d\\d UTC, so try again after that\\.$`,
      ),
    );
    await lab.store.sync.releaseLease('deployment:cs101', 'dead-bot');
    expect((await (await lab.engine.apply(plan)).done).status).toBe('done');
  });

  it('runs one of two deployments of a class applied at the same moment in one process (two teachers in one bot), and refuses the other', async () => {
    const sim = track(await fastSim({ timeScale: 200 }));
    const lab = await labOver(sim);
    track(lab.api);
    const [planA, planB] = await Promise.all([
      lab.engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack', requestedBy: 'teacher' }),
      lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack', requestedBy: 'admin' }),
    ]);
    const outcomes = await Promise.allSettled([lab.engine.apply(planA), lab.engine.apply(planB)]);
    const ran = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(DeploymentInProgressError);
    expect(((refused[0] as PromiseRejectedResult).reason as Error).message).toMatch(
      /^A deployment of cs101 started by (teacher|admin) at \d{4}-\d\d-\d\d \d\d:\d\d UTC is still running/,
    );
    expect(
      (await (ran[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lab.engine.apply>>>).value.done).status,
    ).toBe('done');
    const names = sim.state.acceptedClones.map((c) => c.name);
    expect(names.length).toBe(new Set(names).size);
  });

  it('stops scheduling clones when another process takes its lease, and does not claim the deployment is done', async () => {
    const sim = track(await fastSim({ timeScale: 50 }));
    const lab = await labOver(sim, { students: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'] });
    track(lab.api);
    const engine = new DeploymentEngine({
      store: lab.store,
      clusters: lab.clusters,
      catalog: lab.catalog,
      pollIntervalMs: 25,
      leaseTtlMs: 300,
      instanceId: 'victim',
      limits: { global: 1 },
    });
    let stolen = false;
    const handle = await engine.apply(
      await engine.plan({ classId: 'cs101', count: 8, template: 'ubuntu', strategy: 'pack' }),
      {
        onEvent: (e) => {
          if (e.type === 'registered' && !stolen) {
            stolen = true;
            // Another process believes the victim dead: the lease is taken from under it.
            void lab.store.sync
              .releaseLease('deployment:cs101', 'victim')
              .then(() => lab.store.sync.acquireLease('deployment:cs101', 'thief', 60_000, Date.now()));
          }
        },
      },
    );
    const summary = await handle.done;
    expect(summary.status).toBe('interrupted');
    expect(summary.created).toBeLessThan(10);
    const clonesAtEnd = sim.state.acceptedClones.length;
    expect(clonesAtEnd).toBeLessThan(10);
    expect((await lab.store.deployments.get(handle.id))?.status).toBe('running');
    expect((await lab.store.sync.getLease('deployment:cs101'))?.holder).toBe('thief');
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.state.acceptedClones.length).toBe(clonesAtEnd);
  });

  it('deletes a second base template of the class on one node that no VM uses, once confirmed, and then matches the plan', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const lab = await labOver(sim);
    track(lab.api);
    expect((await lab.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' })).status).toBe(
      'done',
    );
    const base = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-base')!;
    const extra = await cloneVm(lab.api, {
      source: { node: base.node, vmid: base.vmid },
      name: 'cs101-base',
      mode: 'full',
      pollIntervalMs: 20,
    });
    sim.editGuestConfig(extra.vmid, { template: '1', tags: 'lab;class-cs101;role-base' });
    const plan = await lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' });
    expect(plan.vms.filter((v) => v.action === 'delete').map((v) => [v.vmid, v.role])).toEqual([[extra.vmid, 'base']]);
    const summary = await (await lab.engine.apply(plan, { confirmDeletes: true })).done;
    expect(summary).toMatchObject({ status: 'done', deleted: 1, duplicates: [] });
    expect(sim.state.guests.has(extra.vmid)).toBe(false);
    expect(sim.state.guests.has(base.vmid)).toBe(true);
  });
});

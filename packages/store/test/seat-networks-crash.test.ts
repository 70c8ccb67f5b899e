import { describe, expect, it } from 'vitest';
import { DeploymentEngine, TemplateCatalog } from '@lab/proxmox-sdk';
import { ClassNetworks, net0Bridge } from '@lab/proxmox-sdk/network';
import { startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';
import { connectTo, seedClassOfStudents, spawnChild } from './fixtures/crash-lab.js';

const { engines, sharedUrl } = await sharedStores('seat networks crash');
const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const SEATS = 2;
const DELETE_SUBNET = 'DELETE /cluster/sdn/vnets/{vnet}/subnets/{subnet}';
const DELETE_VNET = 'DELETE /cluster/sdn/vnets/{vnet}';
const APPLY = 'PUT /cluster/sdn';

/**
 * When the child is killed: once it deleted the first leaving student's subnet (its VNet not yet),
 * once it deleted two VNets (the third not yet), or once it sent the apply (its task still running).
 */
const PHASES = ['subnet', 'vnet', 'apply'] as const;

describe.each(engines)('removing the networks of students who left, SIGKILLed on %s', (engine) => {
  it.each(PHASES)(
    'after the first %s is finished by a restarted run: each removed once, nothing half-removed, seated students’ kept',
    async (phase) => {
      const sim = await startPveSim({ timeScale: 40, pveVersion: '9.1.3' });
      const url = await sharedUrl(engine);
      const store = await openStore(url);
      const { api, clusters } = connectTo(sim, 'lab');
      const catalog = new TemplateCatalog({ store, clusters });
      const networksAs = (holderId: string) =>
        new ClassNetworks({ store, api, settings: { prefix: 'lab' }, holderId, leaseTtlMs: 1000, pollIntervalMs: 20 });
      try {
        await seedClassOfStudents(store, catalog, STUDENTS);
        const built = await networksAs('setup').ensure({
          classId: 'cs101',
          mode: 'student',
          students: STUDENTS,
          internet: 'snat',
        });
        const vnetOf = new Map(built.networks.map((n) => [n.student!, n.vnet]));
        // Two students keep a seat (and their VMs, on their networks); the others left the class's seats.
        const deployer = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20, leaseTtlMs: 1000 });
        expect(await deployer.deploy({ classId: 'cs101', count: SEATS, template: 'ubuntu' })).toMatchObject({
          status: 'done',
        });
        const seatedIds = new Set(
          (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student').map((a) => a.personId!),
        );
        const seated = (await store.classes.getPeople([...seatedIds])).map((p) => p.username).sort();
        expect(seated).toHaveLength(SEATS);
        const leaving = STUDENTS.filter((s) => !seated.includes(s));
        // Asked for every student but the first: a seated one among them must keep their network.
        const asked = STUDENTS.slice(1);
        const keptAsked = asked.filter((s) => seated.includes(s));
        expect(keptAsked.length).toBeGreaterThan(0);

        sim.requests.reset();
        const crash = spawnChild('seat-networks-child.mjs', sim, [url, JSON.stringify(asked)]);
        const due = () =>
          phase === 'subnet'
            ? sim.requests.count(DELETE_SUBNET) >= 1
            : phase === 'vnet'
              ? sim.requests.count(DELETE_VNET) >= 2
              : sim.requests.count(APPLY) >= 1;
        for (let i = 0; i < 1500 && !due() && crash.child.exitCode === null; i++)
          await new Promise((r) => setTimeout(r, 10));
        expect(due(), crash.stderr).toBe(true);
        crash.child.kill('SIGKILL');
        expect(await crash.exited).toBeNull();
        // Killed half-way: the leaving students' networks are recorded `deleting`, and PVE still has some of it.
        for (const student of leaving)
          expect((await store.sdn.get('lab', vnetOf.get(student)!))?.state, student).toBe('deleting');
        // (PVE commits the pending configuration as the apply starts.)
        if (phase !== 'apply') {
          expect(leaving.some((s) => sim.state.sdn.config.vnets.has(vnetOf.get(s)!))).toBe(true);
          expect(leaving.every((s) => sim.state.sdn.runningOf('vnets').has(vnetOf.get(s)!))).toBe(true);
        }

        // The restarted run: the same call (it waits out the dead holder's lease).
        const outcome = await networksAs('survivor').removeStudents('cs101', asked);
        expect(outcome.kept).toEqual(keptAsked.map((s) => vnetOf.get(s)));
        expect(outcome.removed.sort()).toEqual(leaving.map((s) => vnetOf.get(s)!).sort());
        expect(outcome.applied).toBe(true);

        // Each subnet and VNet deleted once, by the child or the survivor.
        expect(sim.requests.count(DELETE_SUBNET)).toBe(leaving.length);
        expect(sim.requests.count(DELETE_VNET)).toBe(leaving.length);
        expect(sim.requests.count('DELETE /cluster/sdn/zones/{zone}')).toBe(0);
        expect(sim.requests.count('POST /cluster/sdn/vnets')).toBe(0);
        // Applied by the survivor, after the child's apply when it had sent one.
        expect(sim.requests.count(APPLY)).toBe(phase === 'apply' ? 2 : 1);

        // Nothing half-removed: the leaving students' VNets and subnets are gone from the pending and
        // the running configuration and from every node; nothing is pending; the zone is applied.
        const sdn = sim.state.sdn;
        expect(sdn.hasPendingChanges()).toBe(false);
        for (const student of leaving) {
          const vnet = vnetOf.get(student)!;
          expect(sdn.config.vnets.has(vnet), vnet).toBe(false);
          expect(sdn.runningOf('vnets').has(vnet), vnet).toBe(false);
          expect(sdn.subnetsOf(vnet), vnet).toEqual([]);
          expect(
            [...sdn.runningOf('subnets').values()].filter((s) => s.vnet === vnet),
            vnet,
          ).toEqual([]);
          for (const [node, state] of sdn.nodes) expect(state.vnets.has(vnet), `${vnet} on ${node}`).toBe(false);
        }
        expect(sdn.runningOf('zones').has('labzone')).toBe(true);
        for (const node of sdn.nodes.keys())
          expect(sdn.nodeStatus(node).zones.get('labzone')?.status, `labzone on ${node}`).toBe('available');
        // The seated students keep theirs, applied, with their VMs on them.
        for (const student of seated) {
          const vnet = vnetOf.get(student)!;
          expect(sdn.runningOf('vnets').get(vnet)?.zone, vnet).toBe('labzone');
          expect(sdn.subnetsOf(vnet), vnet).toHaveLength(1);
          for (const [node, state] of sdn.nodes) expect(state.vnets.has(vnet), `${vnet} on ${node}`).toBe(true);
          const vms = [...sim.state.guests.values()].filter((g) => g.config.name === `cs101-${student}`);
          expect(vms, student).toHaveLength(1);
          expect(net0Bridge(vms[0]!.config.net0), student).toBe(vnet);
        }
        // The store says the same: the zone and the seated students' networks, applied; the lease is free.
        const records = await store.sdn.list('lab');
        expect(records.map((r) => [r.objectId, r.state]).sort()).toEqual(
          [['labzone', 'applied'], ...seated.map((s) => [vnetOf.get(s)!, 'applied'])].sort(),
        );
        expect(await store.sync.liveLeases('sdn:', Date.now())).toEqual([]);
        expect(sim.requests.schemaViolations).toEqual([]);
      } finally {
        await store.close();
        await api.close();
        await sim.close();
      }
    },
    90_000,
  );

  it('is not finished for a student seated again before the restart: that student gets the network back, the others lose theirs', async () => {
    const sim = await startPveSim({ timeScale: 40, pveVersion: '9.1.3' });
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    const { api, clusters } = connectTo(sim, 'lab');
    const catalog = new TemplateCatalog({ store, clusters });
    const networksAs = (holderId: string) =>
      new ClassNetworks({ store, api, settings: { prefix: 'lab' }, holderId, leaseTtlMs: 1000, pollIntervalMs: 20 });
    try {
      await seedClassOfStudents(store, catalog, STUDENTS);
      const spec = { classId: 'cs101', mode: 'student' as const, students: STUDENTS, internet: 'snat' as const };
      const built = await networksAs('setup').ensure(spec);
      const vnetOf = new Map(built.networks.map((n) => [n.student!, n.vnet]));
      const deployer = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20, leaseTtlMs: 1000 });
      expect(await deployer.deploy({ classId: 'cs101', count: SEATS, template: 'ubuntu' })).toMatchObject({
        status: 'done',
      });
      const seatedIds = new Set(
        (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student').map((a) => a.personId!),
      );
      const seated = (await store.classes.getPeople([...seatedIds])).map((p) => p.username);
      const leaving = STUDENTS.filter((s) => !seated.includes(s));

      sim.requests.reset();
      const crash = spawnChild('seat-networks-child.mjs', sim, [url, JSON.stringify(leaving)]);
      // Killed once PVE has deleted the first leaving student's VNet (pending, not applied).
      const due = () => leaving.some((s) => !sim.state.sdn.config.vnets.has(vnetOf.get(s)!));
      for (let i = 0; i < 1500 && !due() && crash.child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(due(), crash.stderr).toBe(true);
      crash.child.kill('SIGKILL');
      expect(await crash.exited).toBeNull();
      // The one whose VNet went first comes back: the next deploy builds the seated students' networks first.
      const back = leaving.find((s) => !sim.state.sdn.config.vnets.has(vnetOf.get(s)!))!;
      expect(back).toBeDefined();
      const stillLeaving = leaving.filter((s) => s !== back);
      const returned = [...seated, back].sort();
      for (const username of stillLeaving)
        await store.classes.removeMember('cs101', (await store.classes.getPersonByUsername(username))!.id);

      const state = await networksAs('survivor').ensure({ ...spec, students: returned });
      expect(state.networks.map((n) => [n.student, n.vnet, n.state]).sort()).toEqual(
        returned.map((s) => [s, vnetOf.get(s)!, 'applied']).sort(),
      );
      expect(await deployer.deploy({ classId: 'cs101', count: SEATS + 1, template: 'ubuntu' })).toMatchObject({
        status: 'done',
        failed: [],
      });
      // The same call run again removes the others' only.
      const outcome = await networksAs('survivor').removeStudents('cs101', [...stillLeaving, back]);
      expect(outcome.kept).toEqual([vnetOf.get(back)]);
      expect(outcome.removed).toEqual([]);

      const sdn = sim.state.sdn;
      expect(sdn.hasPendingChanges()).toBe(false);
      for (const student of returned) {
        const vnet = vnetOf.get(student)!;
        expect(sdn.runningOf('vnets').get(vnet)?.zone, vnet).toBe('labzone');
        expect(sdn.subnetsOf(vnet), vnet).toHaveLength(1);
        for (const [node, s] of sdn.nodes) expect(s.vnets.has(vnet), `${vnet} on ${node}`).toBe(true);
        const vms = [...sim.state.guests.values()].filter((g) => g.config.name === `cs101-${student}`);
        expect(vms, student).toHaveLength(1);
        expect(net0Bridge(vms[0]!.config.net0), student).toBe(vnet);
      }
      for (const student of stillLeaving) {
        const vnet = vnetOf.get(student)!;
        expect(sdn.config.vnets.has(vnet), vnet).toBe(false);
        expect(sdn.runningOf('vnets').has(vnet), vnet).toBe(false);
        expect(await store.sdn.get('lab', vnet), vnet).toBeUndefined();
      }
      // Each leaving VNet deleted once; the returning one made again once (PVE had it deleted, pending).
      expect(sim.requests.count(DELETE_VNET)).toBe(leaving.length);
      expect(sim.requests.count('POST /cluster/sdn/vnets')).toBe(1);
      const records = await store.sdn.list('lab');
      expect(records.map((r) => [r.objectId, r.state]).sort()).toEqual(
        [['labzone', 'applied'], ...returned.map((s) => [vnetOf.get(s)!, 'applied'])].sort(),
      );
      expect(sim.requests.schemaViolations).toEqual([]);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 90_000);
});

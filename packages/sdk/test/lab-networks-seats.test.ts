// Class networks follow the seats (gap 3), the teacher VMs join the class's networks (gap 4), and
// an apply is checked on every node (gap 5): over the simulator (HTTPS) with the engine's real path.
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { setLabDefinition } from '../src/deploy/lab-definition.js';
import { DeploymentEngine } from '../src/deploy/deployment-engine.js';
import { ClassNetworks, net0Bridge, vmNetworkOf, type ClassNetworkSpec } from '../src/network/index.js';
import { pveResources, waitForTask } from '../src/pve/index.js';
import { SdnApplyFailedError, type SdnNodeProblem } from '../src/errors/index.js';
import type { ProxmoxClient, Store } from '../src/index.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim | undefined;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  await sim?.close();
  api = undefined;
  sim = undefined;
});

const guests = (s: PveSim) => [...s.state.guests.values()];
const assignedVmids = async (store: Store, username: string) =>
  (await store.classes.assignmentsOf((await store.classes.getPersonByUsername(username))!.id)).map((a) => a.vmid);
const named = (s: PveSim, name: string) => guests(s).find((g) => g.config.name === name);

async function twoRoleClass(students: string[]) {
  sim = await startPveSim({ timeScale: 200, pveVersion: '9.1.3' });
  const lab = await labOver(sim, { students });
  api = lab.api;
  await lab.catalog.create({
    name: 'metaspl',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  await setLabDefinition(
    { store: lab.store, catalog: lab.catalog, clock: { now: () => Date.now() } as never },
    {
      classId: 'cs101',
      roles: [
        { name: 'attacker', template: 'ubuntu' },
        { name: 'target', template: 'metaspl' },
      ],
      network: { mode: 'student', internet: 'none' },
      actor: 'teacher',
    },
  );
  const networks = new ClassNetworks({
    store: lab.store,
    api: lab.api,
    settings: { prefix: 'lab' },
    leaseTtlMs: 1000,
    pollIntervalMs: 20,
  });
  const engine = new DeploymentEngine({
    store: lab.store,
    clusters: lab.clusters,
    catalog: lab.catalog,
    pollIntervalMs: 20,
    timeScale: 200,
    networks: () => networks,
  });
  return { ...lab, networks, engine };
}

describe('a class with a network per student, scaled by seats', () => {
  it('builds networks for seated students and the teacher VMs only, and removes a lost seat’s network after its VMs', async () => {
    const { engine, networks, store } = await twoRoleClass(['alice', 'bob', 'carol']);
    const s = sim!;

    // More seats than students: refused before anything is made (every VM needs its student's network).
    await expect(engine.deployLab({ classId: 'cs101', count: 4, requestedBy: 'teacher' })).rejects.toMatchObject({
      code: 'LAB_SDN_SPEC_INVALID',
    });
    expect(await store.sdn.list('lab')).toEqual([]);
    expect(guests(s).filter((g) => (g.config.tags ?? '').includes('class-cs101'))).toEqual([]);

    const up = await engine.deployLab({ classId: 'cs101', count: 2, requestedBy: 'teacher' });
    expect(up.map((x) => x.status)).toEqual(['done', 'done']);
    const built = await networks.networks('cs101');
    // alice and bob have the seats (by username); carol, enrolled but unseated, gets no network.
    expect(built.map((n) => (n.teachers ? '@teachers' : n.student)).sort()).toEqual(['@teachers', 'alice', 'bob']);
    expect(built.every((n) => n.state === 'applied')).toBe(true);
    const vnetOf = new Map(built.map((n) => [n.teachers ? 'teacher' : n.student!, n.vnet]));
    for (const who of ['alice', 'bob'])
      for (const role of ['attacker', 'target'])
        expect(net0Bridge(named(s, `cs101-${who}-${role}`)!.config.net0), `${who} ${role}`).toBe(vnetOf.get(who));
    // The teacher's VM of each role is on the teachers' own network (not a student's, not the template's bridge).
    for (const role of ['attacker', 'target'])
      expect(net0Bridge(named(s, `cs101-${role}-teacher`)!.config.net0), role).toBe(vnetOf.get('teacher'));
    expect(named(s, 'cs101-carol-attacker')).toBeUndefined();
    const summary = await engine.planLabNetworks('cs101', 'lab', { students: ['alice', 'bob'], unassigned: 0 });
    expect(summary?.summary).toBe(
      '3 private networks (one per seated student, one for the teacher VMs) in zone labzone, no internet',
    );

    // Scale down to one seat: bob's VMs go, then bob's network; alice's and the teachers' stay.
    const down = await engine.deployLab(
      { classId: 'cs101', count: 1, requestedBy: 'teacher' },
      { confirmDeletes: true },
    );
    expect(down.map((x) => x.status)).toEqual(['done', 'done']);
    expect(named(s, 'cs101-bob-attacker')).toBeUndefined();
    const left = await networks.networks('cs101');
    expect(left.map((n) => n.vnet).sort()).toEqual([vnetOf.get('alice'), vnetOf.get('teacher')].sort());
    const vnets = (await pveResources(api!).sdn.vnets({ running: true })).map((v) => v.vnet);
    expect(vnets).not.toContain(vnetOf.get('bob'));
    expect(await pveResources(api!).sdn.pending()).toEqual({ zones: [], vnets: [], subnets: [] });
  }, 180_000);

  it('keeps a network whose student still has a VM, and a removal cut short is finished by the next call', async () => {
    const { engine, networks, store } = await twoRoleClass(['alice', 'bob']);
    await engine.deployLab({ classId: 'cs101', count: 2, requestedBy: 'teacher' });
    const bob = (await networks.networks('cs101')).find((n) => n.student === 'bob')!;

    // bob still has VMs: his network is kept.
    expect(await networks.removeStudents('cs101', ['bob'])).toEqual({ removed: [], kept: [bob.vnet], applied: false });

    // bob loses his seat; PVE refuses the VNet delete once (after the subnet went): the record says `deleting`.
    sim!.faults.add({ method: 'DELETE', path: '/cluster/sdn/vnets/{vnet}', kind: 'http-500', count: 1 });
    await expect(
      engine.deployLab({ classId: 'cs101', count: 1, requestedBy: 'teacher' }, { confirmDeletes: true }),
    ).resolves.toHaveLength(2);
    expect((await store.sdn.get('lab', bob.vnet))?.state).toBe('deleting');
    // No VM can be put on it meanwhile.
    await expect(vmNetworkOf(store, 'lab', 'cs101', 'bob')).rejects.toMatchObject({ code: 'LAB_SDN_NETWORK_MISSING' });

    // The next SDN call of any class finishes it.
    await networks.recover();
    expect(await store.sdn.get('lab', bob.vnet)).toBeUndefined();
    expect((await pveResources(api!).sdn.vnets({ pending: true })).map((v) => v.vnet)).not.toContain(bob.vnet);
  }, 180_000);
});

describe('a removal cut short', () => {
  it('is finished by the same call run again, which keeps the network of a student who has a VM', async () => {
    const { engine, networks, store } = await twoRoleClass(['alice', 'bob', 'carol']);
    await engine.deployLab({ classId: 'cs101', count: 3, requestedBy: 'teacher' });
    const vnetOf = new Map((await networks.networks('cs101')).map((n) => [n.student, n.vnet]));
    // A forced teardown of the class's networks, cut short after the first VNet: all recorded `deleting`.
    sim!.faults.add({ method: 'DELETE', path: '/cluster/sdn/vnets/{vnet}', kind: 'http-500', count: 1 });
    await expect(networks.teardown('cs101', { force: true })).rejects.toMatchObject({ status: 500 });
    for (const student of ['alice', 'bob', 'carol'])
      expect((await store.sdn.get('lab', vnetOf.get(student)!))?.state, student).toBe('deleting');
    // carol's VMs go; alice and bob still have theirs.
    for (const vmid of await assignedVmids(store, 'carol')) await engine.destroyVm('lab', vmid);
    expect(await assignedVmids(store, 'carol')).toEqual([]);

    const outcome = await networks.removeStudents('cs101', ['bob', 'carol']);
    expect(outcome).toEqual({ removed: [vnetOf.get('carol')], kept: [vnetOf.get('bob')], applied: true });
    const running = (await pveResources(api!).sdn.vnets({ running: true })).map((v) => v.vnet);
    expect(running).toContain(vnetOf.get('bob'));
    expect(running).not.toContain(vnetOf.get('carol'));
    // alice's, not asked about, goes as the forced teardown asked.
    expect(running).not.toContain(vnetOf.get('alice'));
    expect((await store.sdn.get('lab', vnetOf.get('bob')!))?.state).toBe('applied');
    expect(await store.sdn.get('lab', vnetOf.get('carol')!)).toBeUndefined();
    for (const role of ['attacker', 'target'])
      expect(net0Bridge(named(sim!, `cs101-bob-${role}`)!.config.net0)).toBe(vnetOf.get('bob'));
  }, 180_000);
});

describe('the apply is checked on every node (GET /nodes/{node}/sdn/zones)', () => {
  const spec: ClassNetworkSpec = { classId: 'cs101', mode: 'class', students: [], zone: 'vl', internet: 'none' };

  it('fails with LAB_SDN_APPLY_FAILED naming the nodes where the zone is in error, and leaves the network unapplied', async () => {
    sim = await startPveSim({ timeScale: 100, pveVersion: '9.1.3' });
    const lab = await labOver(sim);
    api = lab.api;
    const sdn = pveResources(api).sdn;
    // An admin's VLAN zone on a bridge the nodes do not have: PVE's apply task still ends OK.
    await sdn.createZone({ zone: 'vl', type: 'vlan', bridge: 'vmbr9' });
    await waitForTask(api, await sdn.apply());
    const networks = new ClassNetworks({ store: lab.store, api, settings: { prefix: 'lab' }, pollIntervalMs: 20 });

    const failed = await networks.ensure(spec).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SdnApplyFailedError);
    const error = failed as SdnApplyFailedError;
    const problems = (error.data as { problems: SdnNodeProblem[] }).problems;
    expect(error.code).toBe('LAB_SDN_APPLY_FAILED');
    const [net] = await networks.networks('cs101');
    expect(net!.state).toBe('created');
    expect(problems.map((p) => [p.node, p.zone, p.status])).toEqual([
      ['pve1', 'vl', 'error'],
      ['pve2', 'vl', 'error'],
      ['pve3', 'vl', 'error'],
    ]);
    expect(problems[0]!.vnets).toEqual([
      {
        vnet: net!.vnet,
        status: 'error',
        message: "vnet is not generated. Please check the 'reload network' task log.",
      },
    ]);
    expect(error.message).toContain(`did not reach node pve1: VNet ${net!.vnet} is error`);
    await expect(vmNetworkOf(lab.store, 'lab', 'cs101', null)).rejects.toMatchObject({
      code: 'LAB_SDN_NETWORK_MISSING',
    });
    // The next call applies again and checks again.
    await expect(networks.ensure(spec)).rejects.toMatchObject({ code: 'LAB_SDN_APPLY_FAILED' });
  }, 60_000);

  it('does not ask an offline node, and marks the network applied when every online node has it', async () => {
    sim = await startPveSim({ timeScale: 100, pveVersion: '9.1.3' });
    const lab = await labOver(sim);
    api = lab.api;
    sim.setNodeOnline('pve3', false);
    const networks = new ClassNetworks({ store: lab.store, api, settings: { prefix: 'lab' }, pollIntervalMs: 20 });
    const state = await networks.ensure({ ...spec, zone: undefined });
    expect(state.applied).toBe(true);
    expect(state.networks.map((n) => n.state)).toEqual(['applied']);
    // One status read per online node (a read of pve3 would have failed with 595).
    expect(sim.requests.count('GET /nodes/{node}/sdn/zones')).toBe(2);
  }, 60_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import type { ProxmoxClient, Store } from '../src/index.js';
import { pveResources, waitForTask } from '../src/pve/index.js';
import { ClassNetworks, net0Bridge, type ClassNetworkSpec } from '../src/network/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim | undefined;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  await sim?.close();
  api = undefined;
  sim = undefined;
});

async function start(): Promise<{ sim: PveSim; api: ProxmoxClient; store: Store }> {
  sim = await startPveSim({ timeScale: 100, pveVersion: '9.1.3' });
  api = clientFor(sim);
  return { sim, api, store: createMemoryStore() };
}

const networksOf = (store: Store, client: ProxmoxClient, settings = { prefix: 'lab' }) =>
  new ClassNetworks({ store, api: client, settings, leaseTtlMs: 1000, pollIntervalMs: 20 });

const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** Every SDN object PVE has not applied yet (the pending view's `state`). */
async function pendingIds(client: ProxmoxClient): Promise<string[]> {
  const p = await pveResources(client).sdn.pending();
  return [...p.zones.map((z) => z.zone), ...p.vnets.map((v) => v.vnet), ...p.subnets.map((s) => s.subnet)];
}

describe('ClassNetworks over the simulator (PVE SDN)', () => {
  it('builds one VNet for a class-wide network in its own simple zone, with DHCP and SNAT, applied', async () => {
    const { sim, api, store } = await start();
    const networks = networksOf(store, api);
    const spec: ClassNetworkSpec = { classId: 'cs101', mode: 'class', students: STUDENTS, internet: 'snat' };
    const plan = await networks.plan(spec);
    expect(plan.zone).toEqual({ id: 'labzone', ours: true, exists: false, type: 'simple' });
    expect(plan.networks).toHaveLength(1);
    expect(plan.networks[0]!.recorded).toBe(false);

    const state = await networks.ensure(spec);
    expect(state.applied).toBe(true);
    expect(state.networks).toHaveLength(1);
    const [net] = state.networks;
    expect(net).toMatchObject({ zone: 'labzone', student: null, cidr: '10.200.0.0/24', gateway: '10.200.0.1' });
    expect(net!.vnet).toMatch(/^lab[a-z0-9]{5}$/);
    expect(net!.state).toBe('applied');
    // What plan said is what ensure built.
    expect(net!.vnet).toBe(plan.networks[0]!.vnet);

    const sdn = pveResources(api).sdn;
    expect((await sdn.zones({ running: true })).map((z) => [z.zone, z.type, z.dhcp])).toEqual([
      ['labzone', 'simple', 'dnsmasq'],
    ]);
    const [subnet] = await sdn.subnets(net!.vnet, { running: true });
    expect(subnet).toMatchObject({ cidr: '10.200.0.0/24', gateway: '10.200.0.1', snat: true });
    expect(await pendingIds(api)).toEqual([]);
    expect(sim.requests.schemaViolations).toEqual([]);

    // Again: nothing new is created and nothing applied.
    sim.requests.reset();
    const again = await networks.ensure(spec);
    expect(again.applied).toBe(false);
    expect(again.networks.map((n) => n.vnet)).toEqual([net!.vnet]);
    expect(sim.requests.count((k) => k.startsWith('POST ') || k.startsWith('PUT '))).toBe(0);
  });

  it('gives each of 5 students a VNet and subnet, puts each student VM on its own, and tears all of it down', async () => {
    const { sim, api, store } = await start();
    const lab = await labOver(sim, { students: STUDENTS, store });
    const networks = networksOf(store, api);
    const state = await networks.ensure({ classId: 'cs101', mode: 'student', students: STUDENTS, internet: 'none' });
    expect(state.networks.map((n) => n.student)).toEqual(expect.arrayContaining(STUDENTS));
    expect(state.networks).toHaveLength(5);
    expect(new Set(state.networks.map((n) => n.vnet)).size).toBe(5);
    expect(new Set(state.networks.map((n) => n.cidr)).size).toBe(5);
    expect(state.networks.every((n) => n.state === 'applied' && !n.snat && n.dhcp)).toBe(true);
    const sdn = pveResources(api).sdn;
    const running = (await sdn.vnets({ running: true })).filter((v) => v.zone === 'labzone');
    expect(running.map((v) => v.vnet).sort()).toEqual(state.networks.map((n) => n.vnet).sort());
    for (const n of state.networks) {
      const subnets = await sdn.subnets(n.vnet, { running: true });
      expect(subnets.map((s) => [s.cidr, s.snat])).toEqual([[n.cidr, false]]);
    }
    expect(await pendingIds(api)).toEqual([]);

    // The deploy puts each student's VM on that student's VNet, and it starts there.
    const plan = await lab.engine.plan({ classId: 'cs101', count: 5, template: 'ubuntu' });
    expect((await (await lab.engine.apply(plan)).done).status).toBe('done');
    const vnetOf = new Map(state.networks.map((n) => [n.student, n.vnet]));
    const assignments = (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
    expect(assignments).toHaveLength(5);
    for (const a of assignments) {
      const person = await store.classes.getPerson(a.personId!);
      const guest = sim.state.guests.get(a.vmid)!;
      expect(net0Bridge(guest.config.net0), person!.username).toBe(vnetOf.get(person!.username));
    }
    const first = assignments[0]!;
    const node = sim.state.guests.get(first.vmid)!.node;
    await waitForTask(api, await pveResources(api).qemu(node, first.vmid).start(), { pollIntervalMs: 20 });
    expect(sim.state.guests.get(first.vmid)!.status).toBe('running');

    // Its networks are not removed from under its VMs.
    await expect(networks.teardown('cs101')).rejects.toMatchObject({
      code: 'LAB_SDN_SPEC_INVALID',
      message: expect.stringContaining('destroy the class'),
    });
    // The class's VMs are destroyed (a deploy down to none), then its networks.
    const downPlan = await lab.engine.plan({ classId: 'cs101', count: 0, template: 'ubuntu' });
    expect((await (await lab.engine.apply(downPlan, { confirmDeletes: true })).done).status).toBe('done');
    for (const a of assignments) expect(sim.state.guests.has(a.vmid)).toBe(false);
    const down = await networks.teardown('cs101');
    expect(down.applied).toBe(true);
    expect(down.removed.sort()).toEqual([...state.networks.map((n) => n.vnet), 'labzone'].sort());
    expect(await sdn.vnets({ pending: true })).toEqual([]);
    expect(await sdn.zones({ pending: true })).toEqual([]);
    expect(await store.sdn.list('lab')).toEqual([]);
    expect(sim.requests.schemaViolations).toEqual([]);
  }, 60_000);

  it('removes only its own objects: a foreign VNet with and without the prefix stays, and so does the zone holding one', async () => {
    const { api, store } = await start();
    const sdn = pveResources(api).sdn;
    // An admin's zone and VNets, one of them named like the lab's.
    await sdn.createZone({ zone: 'campus', type: 'simple' });
    await sdn.createVnet({ vnet: 'campus1', zone: 'campus', type: 'vnet' });
    await sdn.createVnet({ vnet: 'labadmin', zone: 'campus', type: 'vnet' });
    await waitForTask(api, await sdn.apply(), { pollIntervalMs: 20 });
    const networks = networksOf(store, api);
    await networks.ensure({ classId: 'cs101', mode: 'class', students: [], internet: 'snat' });
    const mine = await networks.networks('cs101');
    // Someone adds a VNet with the lab's prefix to the lab's zone by hand.
    await sdn.createVnet({ vnet: 'labhand1', zone: 'labzone', type: 'vnet' });
    await waitForTask(api, await sdn.apply(), { pollIntervalMs: 20 });

    const down = await networks.teardown('cs101');
    expect(down.removed).toEqual([mine[0]!.vnet]);
    expect(down.unowned).toEqual(['labadmin', 'labhand1']);
    const left = (await sdn.vnets({ pending: true })).map((v) => v.vnet).sort();
    expect(left).toEqual(['campus1', 'labadmin', 'labhand1']);
    expect((await sdn.zones({ pending: true })).map((z) => z.zone).sort()).toEqual(['campus', 'labzone']);
    expect(await pendingIds(api)).toEqual([]);
    // The zone's record stays (it is the lab's); the class's is gone.
    expect((await store.sdn.list('lab')).map((r) => r.objectId)).toEqual(['labzone']);
  }, 60_000);

  it('adds tagged VNets without DHCP to a VLAN zone the admin names, and never touches the zone', async () => {
    const { api, store } = await start();
    const sdn = pveResources(api).sdn;
    await sdn.createZone({ zone: 'campus', type: 'vlan', bridge: 'vmbr0' });
    await waitForTask(api, await sdn.apply(), { pollIntervalMs: 20 });
    const networks = networksOf(store, api, { prefix: 'lab' });
    const state = await networks.ensure({
      classId: 'net201',
      mode: 'student',
      students: ['alice', 'bob'],
      zone: 'campus',
      internet: 'none',
    });
    expect(state.networks.map((n) => n.tag).sort()).toEqual([2000, 2001]);
    expect(state.networks.every((n) => n.zone === 'campus' && !n.dhcp)).toBe(true);
    const vnets = await sdn.vnets({ running: true });
    expect(vnets.map((v) => [v.zone, v.tag]).sort()).toEqual([
      ['campus', 2000],
      ['campus', 2001],
    ]);
    await networks.teardown('net201');
    expect(await sdn.vnets({ pending: true })).toEqual([]);
    expect((await sdn.zones({ pending: true })).map((z) => z.zone)).toEqual(['campus']);
  }, 60_000);

  it('refuses bad input with a typed error that says what to fix', async () => {
    const { api, store } = await start();
    expect(() => networksOf(store, api, { prefix: 'labs' })).toThrow(
      expect.objectContaining({
        code: 'LAB_SDN_SETTINGS',
        message: expect.stringMatching(/^sdn\.prefix "labs".*1 to 3/),
      }),
    );
    expect(() => new ClassNetworks({ store, api, settings: { prefix: 'lab', pool: '10.200.0.1/16' } })).toThrow(
      expect.objectContaining({ code: 'LAB_SDN_SETTINGS' }),
    );
    const small = new ClassNetworks({ store, api, settings: { prefix: 'lab', pool: '10.9.0.0/23' } });
    await expect(
      small.ensure({ classId: 'cs101', mode: 'student', students: ['a', 'b', 'c'], internet: 'none' }),
    ).rejects.toMatchObject({ code: 'LAB_SDN_POOL_EXHAUSTED', message: expect.stringContaining('enlarge sdn.pool') });
    // Nothing was recorded or created for the class that did not fit.
    expect(await store.sdn.list('lab', { classId: 'cs101' })).toEqual([]);
    const networks = networksOf(store, api);
    await expect(
      networks.ensure({ classId: 'cs101', mode: 'class', students: [], zone: 'nosuch', internet: 'none' }),
    ).rejects.toMatchObject({ code: 'LAB_SDN_ZONE_MISSING' });
    await expect(
      networks.ensure({ classId: 'cs101', mode: 'student', students: [], internet: 'none' }),
    ).rejects.toMatchObject({
      code: 'LAB_SDN_SPEC_INVALID',
    });
    // A zone with the lab's prefix that the store has no record of is not the lab's.
    const sdn = pveResources(api).sdn;
    await sdn.createZone({ zone: 'labvlan', type: 'vlan', bridge: 'vmbr0' });
    await expect(
      networks.ensure({ classId: 'cs101', mode: 'class', students: [], zone: 'labvlan', internet: 'none' }),
    ).rejects.toMatchObject({ code: 'LAB_SDN_NOT_OURS' });
    await sdn.createZone({ zone: 'labzone', type: 'simple' });
    await expect(
      networks.ensure({ classId: 'cs101', mode: 'class', students: [], internet: 'none' }),
    ).rejects.toMatchObject({ code: 'LAB_SDN_NOT_OURS', message: expect.stringContaining('labzone') });
    expect(await store.sdn.list('lab')).toEqual([]);
  }, 60_000);

  it('leaves a class without networks on the template bridge', async () => {
    const { sim, store } = await start();
    const lab = await labOver(sim, { students: ['alice', 'bob'], store });
    const plan = await lab.engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu' });
    expect((await (await lab.engine.apply(plan)).done).status).toBe('done');
    const students = (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
    expect(students).toHaveLength(2);
    for (const a of students) expect(net0Bridge(sim.state.guests.get(a.vmid)!.config.net0)).toBe('vmbr0');
  }, 60_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

async function ok(method: string, path: string, params: Record<string, string | number> = {}): Promise<unknown> {
  const r = await call(sim, method, path, { params });
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.reason}`);
  return r.body.data;
}

/** Applies the pending SDN config and waits for the `reloadnetworkall` task. */
async function apply(): Promise<string> {
  const upid = (await ok('PUT', '/cluster/sdn')) as string;
  expect((await waitTask(sim, upid)).exitstatus).toBe('OK');
  return upid;
}

describe('SDN zones, VNets and subnets (pve-network API2/Network/SDN/*.pm)', () => {
  it('creates a simple zone, a VNet and a subnet as pending, and an apply makes them running', async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple', ipam: 'pve', dhcp: 'dnsmasq' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab', alias: 'class 1' });
    await ok('POST', '/cluster/sdn/vnets/cls1/subnets', {
      subnet: '10.10.0.0/24',
      type: 'subnet',
      gateway: '10.10.0.1',
      snat: 1,
      'dhcp-range': 'start-address=10.10.0.100,end-address=10.10.0.200',
    });

    const zones = (await ok('GET', '/cluster/sdn/zones')) as Array<Record<string, unknown>>;
    expect(zones).toEqual([
      expect.objectContaining({
        zone: 'lab',
        type: 'simple',
        ipam: 'pve',
        dhcp: 'dnsmasq',
        digest: expect.any(String),
      }),
    ]);
    // Nothing is running yet; the pending view says `new` with the values under `pending`.
    expect(await ok('GET', '/cluster/sdn/zones', { running: 1 })).toEqual([]);
    const pending = (await ok('GET', '/cluster/sdn/zones', { pending: 1 })) as Array<Record<string, unknown>>;
    expect(pending).toEqual([
      expect.objectContaining({ zone: 'lab', type: 'simple', state: 'new', pending: { ipam: 'pve', dhcp: 'dnsmasq' } }),
    ]);
    const subnets = (await ok('GET', '/cluster/sdn/vnets/cls1/subnets')) as Array<Record<string, unknown>>;
    expect(subnets).toEqual([
      expect.objectContaining({
        subnet: 'lab-10.10.0.0-24',
        id: 'lab-10.10.0.0-24',
        cidr: '10.10.0.0/24',
        zone: 'lab',
        network: '10.10.0.0',
        mask: '24',
        vnet: 'cls1',
        gateway: '10.10.0.1',
        snat: 1,
        'dhcp-range': [{ 'start-address': '10.10.0.100', 'end-address': '10.10.0.200' }],
      }),
    ]);

    const upid = await apply();
    expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:reloadnetworkall::root@pam!pve-sim:$/);
    const log = await taskLog(sim, upid);
    expect(log).toEqual([
      'pve1: reloading network config',
      'pve2: reloading network config',
      'pve3: reloading network config',
      'TASK OK',
    ]);
    expect(await ok('GET', '/cluster/sdn/zones', { pending: 1 })).toEqual([
      expect.not.objectContaining({ state: expect.anything() }),
    ]);
    expect(await ok('GET', '/cluster/sdn/vnets/cls1', { running: 1 })).toMatchObject({ zone: 'lab', alias: 'class 1' });
    // Each node got its own srvreload task (by root@pam, through pvesh).
    const tasks = (await ok('GET', '/nodes/pve2/tasks', { typefilter: 'srvreload' })) as Array<Record<string, unknown>>;
    expect(tasks).toEqual([expect.objectContaining({ type: 'srvreload', id: 'networking', user: 'root@pam' })]);
  });

  it('marks changed and deleted objects until the next apply', async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab', alias: 'one' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls2', zone: 'lab' });
    await apply();
    await ok('PUT', '/cluster/sdn/vnets/cls1', { alias: 'uno' });
    await ok('DELETE', '/cluster/sdn/vnets/cls2');
    const vnets = (await ok('GET', '/cluster/sdn/vnets', { pending: 1 })) as Array<Record<string, unknown>>;
    expect(vnets).toEqual([
      expect.objectContaining({ vnet: 'cls1', alias: 'one', state: 'changed', pending: { alias: 'uno' } }),
      expect.objectContaining({ vnet: 'cls2', zone: 'lab', state: 'deleted', pending: {} }),
    ]);
    // The plain config no longer has cls2; the running one still has it.
    expect(((await ok('GET', '/cluster/sdn/vnets')) as unknown[]).length).toBe(1);
    expect(((await ok('GET', '/cluster/sdn/vnets', { running: 1 })) as unknown[]).length).toBe(2);
    await apply();
    expect(await ok('GET', '/cluster/sdn/vnets', { pending: 1 })).toEqual([
      expect.objectContaining({ vnet: 'cls1', alias: 'uno' }),
    ]);
  });
});

describe('SDN refusals with PVE texts', () => {
  it('refuses bad ids, options a zone type lacks, missing tags and delete ordering', async () => {
    sim = await fastSim();
    const tooLong = await call(sim, 'POST', '/cluster/sdn/zones', { params: { zone: 'classroom1', type: 'simple' } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors).toEqual({
      zone: "invalid format - zone ID 'classroom1' can't be more length than 8 characters",
    });
    const illegal = await call(sim, 'POST', '/cluster/sdn/vnets', { params: { vnet: 'v-1', zone: 'lab' } });
    expect(illegal.body.errors).toEqual({ vnet: "invalid format - vnet ID 'v-1' contains illegal characters" });

    const vlanNoBridge = await call(sim, 'POST', '/cluster/sdn/zones', { params: { zone: 'vl', type: 'vlan' } });
    expect(vlanNoBridge.status).toBe(500);
    expect(vlanNoBridge.reason).toBe("missing value for required option 'bridge'");
    const dhcpOnVlan = await call(sim, 'POST', '/cluster/sdn/zones', {
      params: { zone: 'vl', type: 'vlan', bridge: 'vmbr0', dhcp: 'dnsmasq' },
    });
    expect(dhcpOnVlan.reason).toBe("unexpected property 'dhcp'");
    const vxlanNoPeers = await call(sim, 'POST', '/cluster/sdn/zones', { params: { zone: 'vx', type: 'vxlan' } });
    expect(vxlanNoPeers.status).toBe(500);
    expect(vxlanNoPeers.body.message).toBe(
      'create sdn zone object failed: 400 Parameter verification failed.\n' +
        'fabric: must have exactly one of peers / fabric defined\n' +
        'peers: must have exactly one of peers / fabric defined\n',
    );

    await ok('POST', '/cluster/sdn/zones', { zone: 'vl', type: 'vlan', bridge: 'vmbr0' });
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    const noTag = await call(sim, 'POST', '/cluster/sdn/vnets', { params: { vnet: 'v1', zone: 'vl' } });
    expect(noTag.reason).toBe(
      'create sdn vnet object failed: 400 Parameter verification failed. tag: missing vlan tag',
    );
    const tagOnSimple = await call(sim, 'POST', '/cluster/sdn/vnets', { params: { vnet: 'v1', zone: 'lab', tag: 5 } });
    expect(tagOnSimple.body.message).toContain('tag: vlan tag is not allowed on simple zone');
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v1', zone: 'vl', tag: 10 });
    const dupTag = await call(sim, 'POST', '/cluster/sdn/vnets', { params: { vnet: 'v2', zone: 'vl', tag: 10 } });
    expect(dupTag.body.message).toContain('tag: tag 10 already exist in vnet v1');

    const zoneInUse = await call(sim, 'DELETE', '/cluster/sdn/zones/vl');
    expect(zoneInUse.status).toBe(500);
    expect(zoneInUse.body.message).toBe(
      'delete sdn zone object failed: zone vl is used by vnet v1 at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line 162.\n',
    );
    await ok('POST', '/cluster/sdn/vnets/v1/subnets', { subnet: '192.168.5.0/24', type: 'subnet' });
    const vnetInUse = await call(sim, 'DELETE', '/cluster/sdn/vnets/v1');
    expect(vnetInUse.body.message).toBe(
      "delete sdn vnet object failed: 400 Parameter verification failed.\nvnet: Can't delete vnet if subnets exists\n",
    );
    const gatewayOutside = await call(sim, 'POST', '/cluster/sdn/vnets/v1/subnets', {
      params: { subnet: '192.168.6.0/24', type: 'subnet', gateway: '192.168.7.1' },
    });
    expect(gatewayOutside.body.message).toContain('gateway: 192.168.7.1 is not in subnet 192.168.6.0/24');
    const duplicate = await call(sim, 'POST', '/cluster/sdn/vnets/v1/subnets', {
      params: { subnet: '192.168.5.0/24', type: 'subnet' },
    });
    expect(duplicate.reason).toBe(
      "create sdn subnet object failed: sdn subnet object ID 'vl-192.168.5.0-24' already defined",
    );
    await ok('DELETE', '/cluster/sdn/vnets/v1/subnets/vl-192.168.5.0-24');
    await ok('DELETE', '/cluster/sdn/vnets/v1');
    await ok('DELETE', '/cluster/sdn/zones/vl');
  });
});

describe("a VM's bridge must exist on its node when it starts", () => {
  it('fails the start task on a pending-only VNet and starts once the apply reached the node', async () => {
    sim = await fastSim({ scenario: structuredClone(presets.small!) });
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    const create = (await ok('POST', '/nodes/pve1/qemu', {
      vmid: 4100,
      name: 'net-test',
      memory: 512,
      net0: 'virtio,bridge=cls1',
    })) as string;
    expect((await waitTask(sim, create)).exitstatus).toBe('OK');
    const start = (await ok('POST', '/nodes/pve1/qemu/4100/status/start')) as string;
    expect((await waitTask(sim, start)).exitstatus).toBe('start failed: QEMU exited with code 1');
    const log = await taskLog(sim, start);
    expect(log[0]).toBe("bridge 'cls1' does not exist");
    expect(log[1]).toMatch(/^kvm: -netdev type=tap,id=net0,ifname=tap4100i0,.*pve-bridge failed with status 512$/);
    await apply();
    const again = (await ok('POST', '/nodes/pve1/qemu/4100/status/start')) as string;
    expect((await waitTask(sim, again)).exitstatus).toBe('OK');
  });
});

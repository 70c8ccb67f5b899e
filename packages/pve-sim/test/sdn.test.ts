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
    // pve-network builds the pending view as a plain hash: its digest is null.
    expect(pending[0]!.digest).toBeNull();
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
      'delete sdn zone object failed: zone vl is used by vnet v1 at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line 159.\n',
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

  it('lets a VNet a VM uses be deleted (PVE does not check guests); after the apply the VM cannot start', async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    await apply();
    const create = (await ok('POST', '/nodes/pve2/qemu', { vmid: 4300, net0: 'virtio,bridge=cls1' })) as string;
    await waitTask(sim, create);
    await ok('DELETE', '/cluster/sdn/vnets/cls1');
    // Still applied: the node keeps the bridge until the next apply.
    const first = (await ok('POST', '/nodes/pve2/qemu/4300/status/start')) as string;
    expect((await waitTask(sim, first)).exitstatus).toBe('OK');
    await waitTask(sim, (await ok('POST', '/nodes/pve2/qemu/4300/status/stop')) as string);
    await apply();
    const second = (await ok('POST', '/nodes/pve2/qemu/4300/status/start')) as string;
    expect((await waitTask(sim, second)).exitstatus).toBe('start failed: QEMU exited with code 1');
  });
});

/** A scenario with lab@pve (PVEAdmin through its group) and privilege-separated tokens with `roles` on `/`. */
function withTokens(tokens: Record<string, string[]>) {
  const base = structuredClone(presets.small!);
  return {
    ...base,
    users: [...(base.users ?? []), { userid: 'lab@pve', groups: ['labs'] }],
    tokens: Object.keys(tokens).map((name) => ({
      tokenId: `lab@pve!${name}`,
      secret: `${name}-secret`,
      privsep: true,
    })),
    acl: [
      { path: '/', roles: 'PVEAdmin', groups: ['labs'] },
      ...Object.entries(tokens).flatMap(([name, roles]) =>
        roles.map((role) => ({ path: '/', roles: role, tokens: [`lab@pve!${name}`] })),
      ),
    ],
  };
}

const as = (name: string) => ({
  auth: 'none' as const,
  headers: { authorization: `PVEAPIToken=lab@pve!${name}=${name}-secret` },
});

describe('SDN permissions (SDN.Allocate, SDN.Audit, SDN.Use)', () => {
  it('needs SDN.Allocate on /sdn/zones to create a zone and on /sdn to apply; lists only what SDN.Audit shows', async () => {
    sim = await fastSim({ scenario: withTokens({ vm: ['PVEVMUser'] }) });
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    const zone = await call(sim, 'POST', '/cluster/sdn/zones', { ...as('vm'), params: { zone: 'z2', type: 'simple' } });
    expect(zone.status).toBe(403);
    expect(zone.reason).toBe('Permission check failed (/sdn/zones, SDN.Allocate)');
    const applyRefused = await call(sim, 'PUT', '/cluster/sdn', as('vm'));
    expect(applyRefused.reason).toBe('Permission check failed (/sdn, SDN.Allocate)');
    const vnet = await call(sim, 'PUT', '/cluster/sdn/vnets/cls1', { ...as('vm'), params: { alias: 'x' } });
    expect(vnet.reason).toBe('Permission check failed (/sdn/zones/lab/cls1, SDN.Allocate)');
    // Lists filter silently.
    expect((await call(sim, 'GET', '/cluster/sdn/zones', as('vm'))).body.data).toEqual([]);
    expect((await call(sim, 'GET', '/cluster/sdn/vnets', as('vm'))).body.data).toEqual([]);
    // PVESDNUser (SDN.Use + SDN.Audit) on the VNet shows it.
    sim.access.addAcl({ path: '/sdn/zones/lab/cls1', roleid: 'PVESDNUser', type: 'token', ugid: 'lab@pve!vm' });
    expect((await call(sim, 'GET', '/cluster/sdn/vnets', as('vm'))).body.data).toEqual([
      expect.objectContaining({ vnet: 'cls1', zone: 'lab' }),
    ]);
  });

  it("checks SDN.Use on /sdn/zones/<zone>/<vnet>[/<tag>] for a VM's NICs on create, config update and clone", async () => {
    sim = await fastSim({ scenario: withTokens({ vm: ['PVEVMAdmin', 'PVEDatastoreUser'] }) });
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    const create = await call(sim, 'POST', '/nodes/pve1/qemu', {
      ...as('vm'),
      params: { vmid: 4200, net0: 'virtio,bridge=cls1' },
    });
    expect(create.status).toBe(403);
    expect(create.reason).toBe('Permission check failed (/sdn/zones/lab/cls1, SDN.Use)');
    const tagged = await call(sim, 'POST', '/nodes/pve1/qemu', {
      ...as('vm'),
      params: { vmid: 4200, net0: 'virtio,bridge=cls1,tag=7' },
    });
    expect(tagged.reason).toBe('Permission check failed (/sdn/zones/lab/cls1/7, SDN.Use)');
    // A plain bridge is in the `localnetwork` zone.
    const plain = await call(sim, 'POST', '/nodes/pve1/qemu', {
      ...as('vm'),
      params: { vmid: 4200, net0: 'virtio,bridge=vmbr0' },
    });
    expect(plain.reason).toBe('Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)');

    sim.access.addAcl({ path: '/sdn/zones/lab/cls1', roleid: 'PVESDNUser', type: 'token', ugid: 'lab@pve!vm' });
    const created = await call(sim, 'POST', '/nodes/pve1/qemu', {
      ...as('vm'),
      params: { vmid: 4200, net0: 'virtio,bridge=cls1' },
    });
    expect(created.status).toBe(200);
    expect((await waitTask(sim, created.body.data as string)).exitstatus).toBe('OK');
    // Moving the NIC to vmbr0 needs SDN.Use there; the old bridge is checked too.
    const update = await call(sim, 'PUT', '/nodes/pve1/qemu/4200/config', {
      ...as('vm'),
      params: { net0: 'virtio,bridge=vmbr0' },
    });
    expect(update.reason).toBe('Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)');
    // Clone checks the source's NICs.
    sim.access.acls = sim.access.acls.filter((a) => a.path !== '/sdn/zones/lab/cls1');
    const clone = await call(sim, 'POST', '/nodes/pve1/qemu/4200/clone', { ...as('vm'), params: { newid: 4201 } });
    expect(clone.reason).toBe('Permission check failed (/sdn/zones/lab/cls1, SDN.Use)');
  });
});

describe('the apply (PUT /cluster/sdn)', () => {
  it('commits again when an apply is still running: each PUT starts its own reloadnetworkall task', async () => {
    sim = await fastSim({ timeScale: 20 });
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    const first = (await ok('PUT', '/cluster/sdn')) as string;
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    const second = (await ok('PUT', '/cluster/sdn')) as string;
    expect(second).not.toBe(first);
    const state = async () => (await call(sim, 'GET', '/cluster/sdn/vnets', { params: { running: 1 } })).body.data;
    // The running config is written before the task: the VNet is running at once …
    expect(await state()).toEqual([expect.objectContaining({ vnet: 'cls1' })]);
    // … but its bridge exists on a node only once that node's reload ran.
    expect((await waitTask(sim, first)).exitstatus).toBe('OK');
    expect((await waitTask(sim, second)).exitstatus).toBe('OK');
    const inspect = await fetchControl('/sdn');
    expect(inspect).toMatchObject({
      running: { version: 2, vnets: { cls1: { type: 'vnet', zone: 'lab' } } },
      pendingChanges: false,
      nodes: { pve1: ['cls1'], pve2: ['cls1'], pve3: ['cls1'] },
    });
  });

  it("logs an unreachable node and still ends OK; that node gets no bridge; a zone's `nodes` limits where", async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple', nodes: 'pve1,pve2' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    sim.setNodeOnline('pve2', false);
    const upid = await apply();
    const log = await taskLog(sim, upid);
    expect(log).toContain("command 'pvesh set /nodes/pve2/network --regenerate-frr 0' failed: exit code 255");
    expect(log.at(-1)).toBe('TASK OK');
    expect(((await fetchControl('/sdn')) as { nodes: unknown }).nodes).toEqual({ pve1: ['cls1'], pve3: [] });
  });

  it("creates no VNet on a VLAN zone whose bridge a node lacks: the node's srvreload logs it", async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'vl', type: 'vlan', bridge: 'vmbr9' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v1', zone: 'vl', tag: 20 });
    await ok('POST', '/cluster/sdn/zones', { zone: 'good', type: 'vlan', bridge: 'vmbr0' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v2', zone: 'good', tag: 21 });
    await apply();
    const tasks = (await ok('GET', '/nodes/pve1/tasks', { typefilter: 'srvreload' })) as Array<{ upid: string }>;
    expect(await taskLog(sim, tasks[0]!.upid)).toEqual([
      "zone vl : vnet v1 : can't find bridge vmbr9 at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line 334.",
      'TASK OK',
    ]);
    expect(((await fetchControl('/sdn')) as { nodes: unknown }).nodes).toMatchObject({ pve1: ['v2'] });
  });

  it("reports each node's zone and VNet status: pending until that node's reload ran, error where it could not", async () => {
    sim = await fastSim({ timeScale: 10 });
    expect(await ok('GET', '/nodes/pve3/sdn/zones')).toEqual([]);
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    await ok('POST', '/cluster/sdn/zones', { zone: 'vl', type: 'vlan', bridge: 'vmbr9' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v1', zone: 'vl', tag: 3 });
    const upid = (await ok('PUT', '/cluster/sdn')) as string;
    // pve3 is reloaded last: at first its config is older than the running one.
    expect(await ok('GET', '/nodes/pve3/sdn/zones/lab/content')).toEqual([
      {
        vnet: 'cls1',
        status: 'pending',
        statusmsg: 'local sdn network configuration is not yet generated, please reload',
      },
    ]);
    await waitTask(sim, upid);
    expect(await ok('GET', '/nodes/pve3/sdn/zones')).toEqual([
      { zone: 'lab', status: 'available' },
      { zone: 'vl', status: 'error' },
    ]);
    expect(await ok('GET', '/nodes/pve3/sdn/zones/lab/content')).toEqual([
      { vnet: 'cls1', status: 'available', statusmsg: null },
    ]);
    expect(await ok('GET', '/nodes/pve3/sdn/zones/vl/content')).toEqual([
      { vnet: 'v1', status: 'error', statusmsg: "vnet is not generated. Please check the 'reload network' task log." },
    ]);
  });

  it('honours the global lock: changes and apply need its token, which the apply releases', async () => {
    sim = await fastSim();
    const token = (await ok('POST', '/cluster/sdn/lock')) as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await call(sim, 'POST', '/cluster/sdn/zones', { params: { zone: 'lab', type: 'simple' } });
    expect(refused.status).toBe(500);
    expect(refused.reason).toBe(
      'create sdn zone object failed: invalid lock token provided! at /usr/share/perl5/PVE/Network/SDN.pm line 281.',
    );
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple', 'lock-token': token });
    const pending = await call(sim, 'POST', '/cluster/sdn/lock');
    expect(pending.reason).toMatch(/^could not acquire lock for SDN config: invalid lock token provided!/);
    const upid = (await ok('PUT', '/cluster/sdn', { 'lock-token': token })) as string;
    await waitTask(sim, upid);
    // Released: a change without a token passes again; a new lock needs no pending changes.
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    const busy = await call(sim, 'POST', '/cluster/sdn/lock');
    expect(busy.reason).toBe(
      'could not acquire lock for SDN config: configuration has pending changes at /usr/share/perl5/PVE/API2/Network/SDN.pm line 145.',
    );
    await ok('POST', '/cluster/sdn/rollback');
    expect(await ok('GET', '/cluster/sdn/vnets')).toEqual([]);
  });

  it('does not exist before PVE 8.1', async () => {
    sim = await fastSim({ pveVersion: '8.0.4' });
    const r = await call(sim, 'GET', '/cluster/sdn/zones');
    expect(r.status).toBe(501);
    await sim.close();
    sim = await fastSim({ pveVersion: '8.1.4' });
    expect((await call(sim, 'GET', '/cluster/sdn/zones')).status).toBe(200);
  });

  it('follows pve-network 0.11 on PVE 8.4: no global lock, VXLAN zones need peers, no fabrics', async () => {
    sim = await fastSim({ pveVersion: '8.4.1' });
    expect((await call(sim, 'POST', '/cluster/sdn/lock')).status).toBe(501);
    const token = await call(sim, 'POST', '/cluster/sdn/zones', {
      params: { zone: 'lab', type: 'simple', 'lock-token': 'x' },
    });
    expect(token.status).toBe(400);
    const vxlan = await call(sim, 'POST', '/cluster/sdn/zones', { params: { zone: 'vx', type: 'vxlan' } });
    expect(vxlan.reason).toBe("missing value for required option 'peers'");
    await ok('POST', '/cluster/sdn/zones', { zone: 'vx', type: 'vxlan', peers: '10.0.0.1,10.0.0.2' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v1', zone: 'vx', tag: 100 });
    expect((await call(sim, 'DELETE', '/cluster/sdn/zones/vx')).reason).toBe(
      'delete sdn zone object failed: zone vx is used by vnet v1 at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line 138.',
    );
    const upid = await apply();
    expect(await taskLog(sim, upid)).toEqual([
      'pve1: reloading network config',
      'pve2: reloading network config',
      'pve3: reloading network config',
      'TASK OK',
    ]);
    expect(await ok('GET', '/cluster/sdn')).toEqual(
      ['vnets', 'zones', 'controllers', 'ipams', 'dns'].map((id) => ({ id })),
    );
  });
});

async function fetchControl(path: string): Promise<unknown> {
  const { request, Agent } = await import('node:https');
  const agent = new Agent({ ca: sim.ca });
  return new Promise((resolve, reject) => {
    request(`${sim.url}/_sim${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        agent.destroy();
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
    })
      .on('error', reject)
      .end();
  });
}

describe('scenario key `sdn`', () => {
  it('starts with applied zones, VNets and subnets (or pending ones with applied: false)', async () => {
    const base = structuredClone(presets.small!);
    const sdn = {
      zones: { lab: { type: 'simple' as const, ipam: 'pve', dhcp: 'dnsmasq' as const } },
      vnets: { cls1: { zone: 'lab', alias: 'class 1' } },
      subnets: [{ vnet: 'cls1', subnet: '10.20.0.0/24', gateway: '10.20.0.1', snat: true }],
    };
    sim = await fastSim({ scenario: { ...base, sdn } });
    expect(await ok('GET', '/cluster/sdn/vnets/cls1/subnets', { running: 1 })).toEqual([
      expect.objectContaining({ subnet: 'lab-10.20.0.0-24', gateway: '10.20.0.1', snat: 1 }),
    ]);
    expect(await fetchControl('/sdn')).toMatchObject({
      running: { version: 1 },
      pendingChanges: false,
      nodes: { pve1: ['cls1'], pve2: ['cls1'], pve3: ['cls1'] },
    });
    await sim.close();
    sim = await fastSim({ scenario: { ...base, sdn: { ...sdn, applied: false } } });
    expect(await ok('GET', '/cluster/sdn/vnets', { pending: 1 })).toEqual([
      expect.objectContaining({ vnet: 'cls1', state: 'new' }),
    ]);
    await sim.close();
    await expect(fastSim({ scenario: { ...base, sdn: { vnets: { v1: { zone: 'nope' } } } } })).rejects.toThrow(
      "sdn.vnets.v1: zone 'nope' is not in sdn.zones",
    );
    sim = await fastSim();
  });
});

describe("a node's SDN status after an apply (§S.11)", () => {
  it('answers 595 for an offline node, lists only zones meant for the node, and names the failing VNet', async () => {
    sim = await fastSim();
    await ok('POST', '/cluster/sdn/zones', { zone: 'lab', type: 'simple', nodes: 'pve1,pve2' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'cls1', zone: 'lab' });
    await ok('POST', '/cluster/sdn/zones', { zone: 'vl', type: 'vlan', bridge: 'vmbr9' });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v1', zone: 'vl', tag: 7 });
    await ok('POST', '/cluster/sdn/vnets', { vnet: 'v2', zone: 'vl', tag: 8 });
    sim.setNodeOnline('pve2', false);
    await apply();
    // proxyto => 'node': the answering node cannot reach pve2.
    const offline = await call(sim, 'GET', '/nodes/pve2/sdn/zones');
    expect(offline.status).toBe(595);
    // pve3 is not in zone lab's `nodes`: not listed there.
    expect(await ok('GET', '/nodes/pve3/sdn/zones')).toEqual([{ zone: 'vl', status: 'error' }]);
    expect(await ok('GET', '/nodes/pve1/sdn/zones')).toEqual([
      { zone: 'lab', status: 'available' },
      { zone: 'vl', status: 'error' },
    ]);
    const content = (await ok('GET', '/nodes/pve1/sdn/zones/vl/content')) as Array<{ vnet: string }>;
    expect(content.sort((a, b) => (a.vnet < b.vnet ? -1 : 1))).toEqual([
      { vnet: 'v1', status: 'error', statusmsg: "vnet is not generated. Please check the 'reload network' task log." },
      { vnet: 'v2', status: 'error', statusmsg: "vnet is not generated. Please check the 'reload network' task log." },
    ]);
    // Once pve2 is back but not reloaded, its configuration is older than the running one: pending.
    sim.setNodeOnline('pve2', true);
    expect(await ok('GET', '/nodes/pve2/sdn/zones')).toEqual([
      { zone: 'lab', status: 'pending' },
      { zone: 'vl', status: 'pending' },
    ]);
  });
});

import { Agent, request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { AllPrivileges, presets, type PveSim } from '../src/index.js';
import { call, fastSim } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

function control(method: string, path: string, body?: unknown): Promise<number> {
  const agent = new Agent({ ca: sim.ca });
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}/_sim${path}`,
      { method, agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => {
          agent.destroy();
          resolve(res.statusCode!);
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('GET /access/permissions', () => {
  it("answers the admin token with every privilege, propagated, in PVE's path → privilege → flag shape", async () => {
    sim = await fastSim();
    const r = await call(sim, 'GET', '/access/permissions');
    expect(r.status).toBe(200);
    const data = r.body.data as Record<string, Record<string, number>>;
    expect(Object.keys(data)).toEqual(expect.arrayContaining(['/', '/vms', '/storage', '/nodes', '/sdn']));
    expect(Object.keys(data['/']!).sort()).toEqual([...AllPrivileges].sort());
    expect(data['/vms']).toMatchObject({ 'VM.Clone': 1, 'VM.Config.Cloudinit': 1, 'VM.PowerMgmt': 1 });
    expect((await call(sim, 'GET', '/access/permissions', { params: { path: '/vms/100' } })).body.data).toEqual({
      '/vms/100': data['/'],
    });
    expect((await call(sim, 'GET', '/access/permissions', { params: { userid: 'not a user' } })).status).toBe(400);
  });

  it('answers a recorded, reduced set set over the control API, until it is cleared', async () => {
    sim = await fastSim();
    const reduced = { '/': { 'Sys.Audit': 1 }, '/vms': { 'VM.Audit': 1, 'VM.PowerMgmt': 1 } };
    expect(await control('POST', '/permissions', reduced)).toBe(200);
    expect((await call(sim, 'GET', '/access/permissions')).body.data).toEqual(reduced);
    expect((await call(sim, 'GET', '/access/permissions', { params: { path: '/storage' } })).body.data).toEqual({});
    expect(await control('DELETE', '/permissions')).toBe(200);
    expect(
      ((await call(sim, 'GET', '/access/permissions')).body.data as Record<string, Record<string, number>>)['/vms'],
    ).toHaveProperty('VM.Clone', 1);
  });
});

/** A scenario with a teacher user whose privilege-separated token has `roles` on `/`. */
function withToken(tokenRoles: string[], extra: Record<string, unknown> = {}) {
  const base = structuredClone(presets.small!);
  return {
    ...base,
    users: [...(base.users ?? []), { userid: 'lab@pve', groups: ['labs'] }],
    tokens: [{ tokenId: 'lab@pve!bot', secret: 'bot-secret', privsep: true }],
    acl: [
      { path: '/', roles: 'PVEAdmin', groups: ['labs'] },
      ...tokenRoles.map((roles) => ({ path: '/', roles, tokens: ['lab@pve!bot'] })),
    ],
    ...extra,
  };
}

const asBot = { auth: 'none' as const, headers: { authorization: 'PVEAPIToken=lab@pve!bot=bot-secret' } };

describe('the permission model (pve-access-control AccessControl.pm roles, RPCEnvironment.pm permissions)', () => {
  it('gives a privilege-separated token only what its own ACLs grant, within its user', async () => {
    sim = await fastSim({ scenario: withToken(['PVEVMUser']) });
    const r = await call(sim, 'GET', '/access/permissions', asBot);
    const data = r.body.data as Record<string, Record<string, number>>;
    expect(data['/']).toHaveProperty('VM.PowerMgmt', 1);
    expect(data['/']).not.toHaveProperty('VM.Clone');
    expect(data['/']).not.toHaveProperty('Sys.Modify'); // Administrator-only, not in the user's PVEAdmin
  });

  it('refuses a clone without VM.Clone with 403 "Permission check failed (/vms/9000, VM.Clone)"', async () => {
    sim = await fastSim({ scenario: withToken(['PVEVMUser']) });
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { ...asBot, params: { newid: 700 } });
    expect(r.status).toBe(403);
    expect(r.reason).toBe('Permission check failed (/vms/9000, VM.Clone)');
    expect(r.body).toEqual({ data: null, message: 'Permission check failed (/vms/9000, VM.Clone)\n' });
  });

  it('checks Datastore.AllocateSpace and SDN.Use on the bridges inside clone (qemu-server clone_vm, check_bridge_access)', async () => {
    const scenario = withToken(['PVEVMAdmin']);
    sim = await fastSim({ scenario });
    const noStorage = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { ...asBot, params: { newid: 701 } });
    expect(noStorage.reason).toBe('Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)');
    await sim.close();
    sim = await fastSim({ scenario: withToken(['PVEVMAdmin', 'PVEDatastoreUser']) });
    const noBridge = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { ...asBot, params: { newid: 701 } });
    expect(noBridge.reason).toBe('Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)');
    await sim.close();
    sim = await fastSim({ scenario: withToken(['PVEVMAdmin', 'PVEDatastoreUser', 'PVESDNUser']) });
    expect((await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { ...asBot, params: { newid: 701 } })).status).toBe(
      200,
    );
  });

  it('refuses a clone into a pool that does not exist (check_pool_exist)', async () => {
    sim = await fastSim();
    const r = await call(sim, 'POST', '/nodes/pve1/qemu/9000/clone', { params: { newid: 702, pool: 'nope' } });
    expect(r.status).toBe(403);
    expect(r.reason).toBe("Permission check failed (pool 'nope' does not exist)");
  });

  it('filters /cluster/resources silently: no privileges → 200 with an empty list; nodes without Sys.Audit carry no usage', async () => {
    sim = await fastSim({ scenario: { ...withToken([]), acl: [{ path: '/', roles: 'PVEAdmin', groups: ['labs'] }] } });
    const none = await call(sim, 'GET', '/cluster/resources', { ...asBot, params: { type: 'vm' } });
    expect(none.status).toBe(200);
    expect(none.body.data).toEqual([]);
    await sim.close();
    sim = await fastSim({ scenario: withToken(['PVEVMUser']) });
    const vmsOnly = (await call(sim, 'GET', '/cluster/resources', asBot)).body.data as Array<Record<string, unknown>>;
    expect(vmsOnly.some((r) => r.type === 'qemu')).toBe(true);
    expect(vmsOnly.some((r) => r.type === 'storage')).toBe(false);
    const node = vmsOnly.find((r) => r.type === 'node')!;
    expect(node).not.toHaveProperty('mem');
    expect(node).not.toHaveProperty('maxcpu');
  });

  it('propagates roles down paths, lets a deeper entry override, and honours propagate: false', async () => {
    const scenario = withToken([]);
    scenario.acl = [
      { path: '/', roles: 'PVEAdmin', groups: ['labs'] },
      { path: '/vms', roles: 'PVEAuditor', tokens: ['lab@pve!bot'] },
      { path: '/vms/100', roles: 'PVEVMUser', tokens: ['lab@pve!bot'], propagate: false },
    ] as never;
    sim = await fastSim({ scenario });
    const at = async (path: string) =>
      (await call(sim, 'GET', '/access/permissions', { ...asBot, params: { path } })).body.data as Record<
        string,
        Record<string, number>
      >;
    expect((await at('/vms/101'))['/vms/101']).toMatchObject({ 'VM.Audit': 1, 'VM.GuestAgent.Audit': 1 });
    expect((await at('/vms/101'))['/vms/101']).not.toHaveProperty('VM.PowerMgmt');
    expect((await at('/vms/100'))['/vms/100']).toMatchObject({ 'VM.PowerMgmt': 0 });
    expect(await at('/storage')).toEqual({});
  });
});

describe('authentication failures (pve-http-server AnyEvent.pm, pve-access-control verify_token)', () => {
  it('answers a wrong token secret with 401 "invalid token value!" and an empty body', async () => {
    sim = await fastSim({ scenario: withToken(['PVEVMUser']) });
    const r = await call(sim, 'GET', '/version', {
      auth: 'none',
      headers: { authorization: 'PVEAPIToken=lab@pve!bot=wrong' },
    });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('invalid token value!');
    expect(r.body).toEqual({});
  });

  it('leaves out the message field of error bodies before PVE 8.3', async () => {
    sim = await fastSim({ scenario: { ...structuredClone(presets.small!), pveVersion: '8.2.4' } });
    const r = await call(sim, 'DELETE', '/nodes/pve1/qemu/100');
    expect(r.status).toBe(500);
    expect(r.reason).toBe('VM 100 is running - destroy failed');
    expect(r.body).toEqual({ data: null });
  });
});

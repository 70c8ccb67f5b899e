import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

/** One request on its own connection, with the answer's headers and raw body. */
function rawCall(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  form?: string,
): Promise<{ status: number; reason: string; headers: IncomingHttpHeaders; text: string }> {
  const agent = new Agent({ ca: sim.ca, keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}/api2/json${path}`,
      {
        method,
        agent,
        headers: form
          ? { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(form.length) }
          : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          agent.destroy();
          resolve({
            status: res.statusCode!,
            reason: res.statusMessage ?? '',
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

const tokenHeader = (): Record<string, string> => ({ authorization: `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}` });

describe('access endpoints answer like pve-access-control (API2/User.pm, API2/AccessControl.pm)', () => {
  it('reads a user and generates a token that then authenticates (read_user, generate_token)', async () => {
    const base = structuredClone(presets.small!);
    sim = await fastSim({
      scenario: { ...base, users: [...(base.users ?? []), { userid: 'lab@pve', groups: ['labs'] }] },
    });
    const user = await call(sim, 'GET', '/access/users/lab@pve');
    expect(user.status).toBe(200);
    expect(user.body.data).toEqual({ enable: 1, expire: 0, groups: ['labs'], tokens: null });

    const created = await call(sim, 'POST', '/access/users/lab@pve/token/bot', { params: { privsep: 0 } });
    expect(created.status).toBe(200);
    const data = created.body.data as { info: Record<string, unknown>; value: string; 'full-tokenid': string };
    expect(Object.keys(data).sort()).toEqual(['full-tokenid', 'info', 'value']);
    expect(data['full-tokenid']).toBe('lab@pve!bot');
    expect(data.info).toEqual({ privsep: 0 });
    expect(data.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const asNew = { auth: 'none' as const, headers: { authorization: `PVEAPIToken=lab@pve!bot=${data.value}` } };
    expect((await call(sim, 'GET', '/version', asNew)).status).toBe(200);
    expect((await call(sim, 'GET', '/access/users/lab@pve')).body.data).toMatchObject({
      tokens: { bot: { privsep: 0, expire: 0 } },
    });

    const again = await call(sim, 'POST', '/access/users/lab@pve/token/bot');
    expect(again.status).toBe(400);
    expect(again.body.errors).toEqual({ tokenid: 'Token already exists.' });
    const nobody = await call(sim, 'GET', '/access/users/nobody@pve');
    expect(nobody.status).toBe(500);
    expect(nobody.reason).toBe("no such user ('nobody@pve')");
  });

  it('answers a wrong password on /access/ticket with a JSON 401 and a ticket with cap', async () => {
    sim = await fastSim();
    const bad = await rawCall('POST', '/access/ticket', {}, 'username=root%40pam&password=nope');
    expect(bad.status).toBe(401);
    expect(bad.reason).toBe('authentication failure');
    expect(bad.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(JSON.parse(bad.text)).toEqual({ data: null, message: 'authentication failure\n' });

    const good = await call(sim, 'POST', '/access/ticket', {
      params: { username: 'root@pam', password: 'pve-sim' },
      auth: 'none',
    });
    const ticket = good.body.data as Record<string, unknown>;
    expect(Object.keys(ticket).sort()).toEqual(['CSRFPreventionToken', 'cap', 'clustername', 'ticket', 'username']);
    const cap = ticket.cap as Record<string, Record<string, number>>;
    expect(Object.keys(cap).sort()).toEqual(['access', 'dc', 'mapping', 'nodes', 'sdn', 'storage', 'vms']);
    expect(cap.vms).toMatchObject({ 'VM.Allocate': 1, 'VM.GuestAgent.Audit': 1, 'Permissions.Modify': 1 });
    expect(cap.dc).toEqual({ 'Sys.Audit': 1, 'Sys.Modify': 1, 'SDN.Allocate': 1, 'SDN.Audit': 1, 'SDN.Use': 1 });
  });

  it('answers a refused authentication with no body and no Content-Type, and closes the connection after any error', async () => {
    sim = await fastSim();
    const refused = await rawCall('GET', '/nodes', { authorization: `PVEAPIToken=${sim.tokenId}=wrong` });
    expect(refused.status).toBe(401);
    expect(refused.reason).toBe('invalid token value!');
    expect(refused.text).toBe('');
    expect(refused.headers['content-type']).toBeUndefined();
    expect(refused.headers['content-length']).toBeUndefined();
    expect(refused.headers.connection).toBe('close');

    const missing = await rawCall('GET', '/nodes/pve1/qemu/4242/config', tokenHeader());
    expect(missing.status).toBe(500);
    expect(missing.headers.connection).toBe('close');
    const fine = await rawCall('GET', '/version', tokenHeader());
    expect(fine.status).toBe(200);
    expect(fine.headers.connection).toBe('keep-alive');
  });
});

describe('answers carry the keys PVE sends (qemu-server vmstatus, create_vm; pve-manager nextid)', () => {
  it('gives a running VM its QMP keys in status/current, a stopped one none of them', async () => {
    sim = await fastSim();
    sim.editGuestConfig(100, { balloon: '512', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' });
    const running = (await call(sim, 'GET', '/nodes/pve1/qemu/100/status/current')).body.data as Record<
      string,
      unknown
    >;
    for (const key of [
      'balloon',
      'ballooninfo',
      'blockstat',
      'freemem',
      'nics',
      'proxmox-support',
      'running-qemu',
      'running-machine',
      'shares',
      'balloon_min',
      'memhost',
      'pressurecpusome',
    ])
      expect(running, key).toHaveProperty(key);
    expect(running.shares).toBe(1000);
    expect(running.balloon_min).toBe(512 * 1024 * 1024);
    expect(Object.keys(running.nics as object)).toEqual(['tap100i0']);
    expect(Object.keys(running.blockstat as object)).toEqual(['scsi0']);
    const info = running.ballooninfo as Record<string, number>;
    expect(running.freemem).toBe(info.free_mem);
    expect(running.mem).toBe(info.total_mem! - info.free_mem!);

    const stopped = (await call(sim, 'GET', '/nodes/pve3/qemu/102/status/current')).body.data as Record<
      string,
      unknown
    >;
    for (const key of ['balloon', 'ballooninfo', 'blockstat', 'nics', 'proxmox-support', 'running-qemu'])
      expect(stopped, key).not.toHaveProperty(key);
    expect(stopped.qmpstatus).toBe('stopped');
  });

  it('adds boot, meta, smbios1 and vmgenid to a created VM, and refuses a taken VMID with PVE’s texts', async () => {
    sim = await fastSim();
    const upid = (
      await call(sim, 'POST', '/nodes/pve1/qemu', {
        params: {
          vmid: 650,
          name: 'fresh',
          scsi0: 'local-lvm:4',
          ide2: 'local-lvm:cloudinit',
          net0: 'virtio,bridge=vmbr0',
        },
      })
    ).body.data as string;
    expect((await waitTask(sim, upid)).exitstatus).toBe('OK');
    const config = (await call(sim, 'GET', '/nodes/pve1/qemu/650/config')).body.data as Record<string, string>;
    expect(config.boot).toBe('order=scsi0;ide2;net0');
    expect(config.meta).toMatch(/^creation-qemu=10\.0\.2,ctime=\d+$/);
    expect(config.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(config.vmgenid).toMatch(/^[0-9a-f-]{36}$/);
    expect(config.ide2).toBe('local-lvm:vm-650-cloudinit,media=cdrom');

    const taken = await call(sim, 'POST', '/nodes/pve1/qemu', { params: { vmid: 101, scsi0: 'local-lvm:4' } });
    expect(taken.status).toBe(500);
    expect(taken.reason).toBe("unable to create VM 101 - VM 101 already exists on node 'pve2'");
    const nextid = await call(sim, 'GET', '/cluster/nextid', { params: { vmid: 101 } });
    expect(nextid.status).toBe(400);
    expect(nextid.body.errors).toEqual({ vmid: 'VM 101 already exists' });
  });

  it('ends a task that logged warnings with WARNINGS: N, listed among the errors filter', async () => {
    sim = await fastSim();
    sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/status/start',
      kind: 'task-warnings',
      warnings: 2,
    });
    const upid = (await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start')).body.data as string;
    const done = await waitTask(sim, upid);
    expect(done.exitstatus).toBe('WARNINGS: 2');
    const log = await taskLog(sim, upid);
    expect(log.filter((l) => l.startsWith('WARN: '))).toHaveLength(2);
    expect(log.at(-1)).toBe('TASK WARNINGS: 2');
    expect(sim.state.guests.get(102)?.status).toBe('running');
  });
});

describe('privileges by PVE version (pve-access-control 9.0.2 dropped VM.Monitor for VM.GuestAgent.*)', () => {
  const withAgentReader = (pveVersion: string, roles: Array<{ roleid: string; privs: string[] }>) => {
    const base = structuredClone(presets.small!);
    return {
      ...base,
      pveVersion,
      users: [...(base.users ?? []), { userid: 'ip@pve' }],
      tokens: [{ tokenId: 'ip@pve!read', secret: 'read-secret', privsep: false }],
      roles,
      acl: [{ path: '/', roles: roles.map((r) => r.roleid).join(','), users: ['ip@pve'] }],
    };
  };
  const asReader = { auth: 'none' as const, headers: { authorization: 'PVEAPIToken=ip@pve!read=read-secret' } };

  it('refuses a role naming VM.Monitor on PVE 9 and needs VM.GuestAgent.Audit for guest addresses', async () => {
    sim = await fastSim({
      scenario: withAgentReader('9.1.3', [{ roleid: 'LabAudit', privs: ['VM.Audit', 'VM.GuestAgent.Audit'] }]),
    });
    const refused = await call(sim, 'POST', '/access/roles', {
      params: { roleid: 'Old', privs: 'VM.Audit,VM.Monitor' },
    });
    expect(refused.status).toBe(400);
    expect(refused.reason).toBe('Parameter verification failed.');
    expect(refused.body.errors).toEqual({ privs: "invalid format - invalid privilege 'VM.Monitor'\n" });
    expect(
      (await call(sim, 'POST', '/access/roles', { params: { roleid: 'Rep', privs: 'VM.Replicate' } })).status,
    ).toBe(200);
    await sim.close();
    await expect(
      fastSim({ scenario: withAgentReader('9.1.3', [{ roleid: 'Old', privs: ['VM.Monitor'] }]) }),
    ).rejects.toThrow("invalid privilege 'VM.Monitor'");

    sim = await fastSim({ scenario: withAgentReader('9.1.3', [{ roleid: 'OnlyAudit', privs: ['VM.Audit'] }]) });
    const denied = await call(sim, 'GET', '/nodes/pve1/qemu/100/agent/network-get-interfaces', asReader);
    expect(denied.status).toBe(403);
    expect(denied.reason).toBe('Permission check failed (/vms/100, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)');
  });

  it('knows VM.Monitor and not VM.GuestAgent.* or VM.Replicate on PVE 8, and wants VM.Monitor for guest addresses', async () => {
    sim = await fastSim({
      scenario: withAgentReader('8.4.1', [{ roleid: 'LabAudit', privs: ['VM.Audit', 'VM.Monitor'] }]),
    });
    const replicate = await call(sim, 'POST', '/access/roles', { params: { roleid: 'Rep', privs: 'VM.Replicate' } });
    expect(replicate.body.errors).toEqual({ privs: "invalid format - invalid privilege 'VM.Replicate'\n" });
    const allowed = await call(sim, 'GET', '/nodes/pve1/qemu/100/agent/network-get-interfaces', asReader);
    expect(allowed.status).not.toBe(403);
    await sim.close();
    // The version option overrides the scenario's (`pve-sim --pve-version 8.4.1`).
    sim = await fastSim({
      scenario: withAgentReader('9.1.3', [{ roleid: 'OnlyAudit', privs: ['VM.Audit'] }]),
      pveVersion: '8.4.1',
    });
    expect((await call(sim, 'GET', '/version')).body.data).toMatchObject({ version: '8.4.1' });
    const denied = await call(sim, 'GET', '/nodes/pve1/qemu/100/agent/network-get-interfaces', asReader);
    expect(denied.reason).toBe('Permission check failed (/vms/100, VM.Monitor)');
  });
});

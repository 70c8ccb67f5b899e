import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

describe('guests start, stop, boot their agent and are deleted like on PVE', () => {
  it('answers the guest agent only after boot, with loopback addresses', async () => {
    sim = await fastSim({ scenario: { ...structuredClone(presets.small!), timings: { agentBootSeconds: 30 } } });
    const before = await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/network-get-interfaces');
    expect(before.status).toBe(500);
    expect(before.reason).toBe('VM 102 is not running');
    const upid = (await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start')).body.data as string;
    expect(upid).toContain(':qmstart:102:');
    await waitTask(sim, upid);
    const booting = await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/network-get-interfaces');
    expect(booting.status).toBe(500);
    expect(booting.body).toEqual({ data: null, message: 'QEMU guest agent is not running\n' });
    await new Promise((r) => setTimeout(r, 400)); // 30 simulated seconds at 100×
    const ready = await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/network-get-interfaces');
    expect(ready.status).toBe(200);
    const result = (
      ready.body.data as { result: Array<{ name: string; 'ip-addresses': Array<{ 'ip-address': string }> }> }
    ).result;
    const addresses = result.flatMap((i) => i['ip-addresses'].map((a) => a['ip-address']));
    expect(addresses).toContain('127.10.0.102');
    for (const a of addresses) expect(a === '::1' || a.startsWith('127.')).toBe(true);
  });

  it('reports who is logged in through the agent, with PVE’s checks first, and forgets them when the VM stops', async () => {
    sim = await fastSim({ scenario: { ...structuredClone(presets.small!), timings: { agentBootSeconds: 30 } } });
    const stopped = await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/get-users');
    expect(stopped.reason).toBe('VM 102 is not running');
    await waitTask(sim, (await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start')).body.data as string);
    expect((await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/get-users')).reason).toBe(
      'QEMU guest agent is not running',
    );
    await new Promise((r) => setTimeout(r, 400)); // 30 simulated seconds at 100×
    expect((await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/get-users')).body).toEqual({ data: { result: [] } });
    sim.setGuestUsers(102, ['alice', { user: 'bob', domain: 'SCHOOL' }]);
    const users = (await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/get-users')).body.data as {
      result: Array<{ user: string; 'login-time': number; domain?: string }>;
    };
    expect(users.result.map((u) => [u.user, u.domain])).toEqual([
      ['alice', undefined],
      ['bob', 'SCHOOL'],
    ]);
    expect(Math.abs(users.result[0]!['login-time'] - sim.time.now() / 1000)).toBeLessThan(3_600);
    await waitTask(sim, (await call(sim, 'POST', '/nodes/pve3/qemu/102/status/stop')).body.data as string);
    expect(() => sim.setGuestUsers(102, ['alice'])).toThrow(/not running/);
    expect(sim.state.guests.get(102)!.loggedIn).toBeUndefined();
    sim.editGuestConfig(102, { agent: null });
    expect((await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/get-users')).reason).toBe(
      'No QEMU guest agent configured',
    );
  });

  it('says when no agent is configured', async () => {
    sim = await fastSim();
    sim.editGuestConfig(102, { agent: null });
    const r = await call(sim, 'GET', '/nodes/pve3/qemu/102/agent/network-get-interfaces');
    expect(r.reason).toBe('No QEMU guest agent configured');
  });

  it('fails a start of a running VM as a task (vm_start), and refuses to delete a running one at once', async () => {
    sim = await fastSim();
    const again = await call(sim, 'POST', '/nodes/pve1/qemu/100/status/start');
    expect(again.status).toBe(200);
    expect(await waitTask(sim, again.body.data as string)).toMatchObject({ exitstatus: 'VM 100 already running' });
    expect((await taskLog(sim, again.body.data as string)).at(-1)).toBe('TASK ERROR: VM 100 already running');
    const del = await call(sim, 'DELETE', '/nodes/pve1/qemu/100');
    expect(del.status).toBe(500);
    expect(del.reason).toBe('VM 100 is running - destroy failed');
    expect(sim.state.guests.has(100)).toBe(true);
  });

  it('stops, then purges a VM and frees its disks', async () => {
    sim = await fastSim();
    await waitTask(sim, (await call(sim, 'POST', '/nodes/pve1/qemu/100/status/stop')).body.data as string);
    expect(sim.state.guests.get(100)?.status).toBe('stopped');
    const del = await call(sim, 'DELETE', '/nodes/pve1/qemu/100', { params: { purge: 1 } });
    expect(del.status).toBe(200);
    await waitTask(sim, del.body.data as string);
    expect(sim.state.guests.has(100)).toBe(false);
    expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.has('vm-100-disk-0')).toBe(false);
    const gone = await call(sim, 'GET', '/nodes/pve1/qemu/100/config');
    expect(gone.reason).toBe("Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist");
  });

  it('converts a VM to a template, renaming its disks to base-…', async () => {
    sim = await fastSim();
    const upid = (await call(sim, 'POST', '/nodes/pve3/qemu/102/template')).body.data as string;
    expect(upid).toContain(':qmtemplate:102:');
    await waitTask(sim, upid);
    const config = (await call(sim, 'GET', '/nodes/pve3/qemu/102/config')).body.data as Record<string, unknown>;
    expect(config.template).toBe(1);
    expect(config.scsi0).toMatch(/^local-lvm:base-102-disk-0,/);
    const start = await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start');
    expect(await waitTask(sim, start.body.data as string)).toMatchObject({
      exitstatus: "you can't start a vm if it's a template",
    });
  });

  it('raises node memory as VMs run', async () => {
    sim = await fastSim();
    const memOf = async () =>
      ((await call(sim, 'GET', '/nodes/pve3/status')).body.data as { memory: { used: number } }).memory.used;
    const before = await memOf();
    await waitTask(sim, (await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start')).body.data as string);
    expect((await memOf()) - before).toBe(2048 * 1024 * 1024);
  });

  it('answers 595 for a node that is offline, and shows its guests as unknown', async () => {
    sim = await fastSim();
    sim.setNodeOnline('pve2', false);
    const r = await call(sim, 'GET', '/nodes/pve2/qemu');
    expect(r.status).toBe(595);
    expect(r.reason).toBe('Errors during connection establishment, proxy handshake: No route to host');
    const resources = (await call(sim, 'GET', '/cluster/resources', { params: { type: 'vm' } })).body.data as Array<{
      vmid: number;
      status: string;
    }>;
    expect(resources.find((g) => g.vmid === 101)?.status).toBe('unknown');
    const nodes = (await call(sim, 'GET', '/nodes')).body.data as Array<{ node: string; status: string }>;
    expect(nodes.find((n) => n.node === 'pve2')?.status).toBe('offline');
  });

  it('creates a VM from STORAGE:SIZE disks', async () => {
    sim = await fastSim();
    const r = await call(sim, 'POST', '/nodes/pve2/qemu', {
      params: { vmid: 800, name: 'fresh', memory: 1024, cores: 1, scsi0: 'local-lvm:8', ostype: 'l26' },
    });
    expect(r.status).toBe(200);
    await waitTask(sim, r.body.data as string);
    const config = (await call(sim, 'GET', '/nodes/pve2/qemu/800/config')).body.data as Record<string, unknown>;
    expect(config.scsi0).toBe('local-lvm:vm-800-disk-0,size=8G');
    expect(config.cores).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { fastSim, taskLog, waitTask } from './helpers.js';
import { rawPost } from './raw-post.js';

let sim: PveSim;
afterEach(() => sim?.close());

const bulk = (action: 'start' | 'shutdown', form: string) =>
  rawPost(sim, `/api2/json/cluster/bulk-action/guest/${action}`, form);

describe('PVE 9 bulk actions (pve-manager PVE/API2/Cluster/BulkAction/Guest.pm)', () => {
  it('starts the listed guests in one bulk-start task, skipping a running one with a warning', async () => {
    sim = await fastSim();
    sim.editGuestConfig(102, { startup: 'up=3' });
    const r = await bulk('start', 'vms=102&vms=100&max-workers=2');
    expect(r.status).toBe(200);
    const upid = r.json.data as string;
    expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:bulk-start::root@pam!pve-sim:$/);
    expect((await waitTask(sim, upid)).exitstatus).toBe('WARNINGS: 1');
    expect(await taskLog(sim, upid)).toEqual([
      'Starting guests: 102, 100',
      'WARN: Skipping VM 100, already running.',
      'Starting VM 102',
      'Waiting for 3 seconds (startup delay)',
      'TASK WARNINGS: 1',
    ]);
    expect(sim.state.guests.get(102)?.status).toBe('running');
    const started = [...sim.state.tasks.tasks.values()].find((t) => t.type === 'qmstart' && t.id === '102');
    expect(started?.exitstatus).toBe('OK');
  });

  it('shuts guests down with force-stop by default, and fails naming those that did not stop', async () => {
    sim = await fastSim({ timeScale: 1000 });
    sim.setIgnoresAcpi(100, true);
    sim.setIgnoresAcpi(101, true);
    const forced = await bulk('shutdown', 'vms=100&timeout=5');
    expect((await waitTask(sim, forced.json.data as string)).exitstatus).toBe('OK');
    expect(await taskLog(sim, forced.json.data as string)).toEqual([
      'Shutting down guests: 100',
      'Shutting down VM 100 (Timeout = 5 seconds)',
      'TASK OK',
    ]);
    expect(sim.state.guests.get(100)?.status).toBe('stopped');

    const unforced = await bulk('shutdown', 'vms=101&vms=102&timeout=5&force-stop=0');
    const upid = unforced.json.data as string;
    expect(upid).toContain(':bulk-shutdown::');
    expect((await waitTask(sim, upid)).exitstatus).toBe('Some guests failed to shutdown 101');
    expect(await taskLog(sim, upid)).toEqual([
      'Shutting down guests: 101, 102',
      'Shutting down VM 101 (Timeout = 5 seconds)',
      'WARN: Skipping VM 102, not running.',
      'WARN: Stopping VM 101 failed: VM quit/powerdown failed - got timeout',
      'TASK ERROR: Some guests failed to shutdown 101',
    ]);
    expect(sim.state.guests.get(101)?.status).toBe('running');
  });

  it('runs at most max-workers power tasks at a time', async () => {
    sim = await fastSim({ scenario: 'school' });
    const stopped = [...sim.state.guests.values()]
      .filter((g) => g.type === 'qemu' && g.status === 'stopped' && g.config.template !== '1')
      .slice(0, 9)
      .map((g) => g.vmid);
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, sim.state.tasks.running().filter((t) => t.type === 'qmstart').length);
    }, 1);
    const r = await bulk('start', `${stopped.map((v) => `vms=${v}`).join('&')}&max-workers=3`);
    await waitTask(sim, r.json.data as string, 60_000);
    clearInterval(watch);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    for (const vmid of stopped) expect(sim.state.guests.get(vmid)?.status).toBe('running');
  });

  it('needs VM.PowerMgmt on every listed guest', async () => {
    const base = structuredClone(presets.small!);
    sim = await fastSim({
      scenario: {
        ...base,
        users: [{ userid: 'pilot@pve' }],
        tokens: [{ tokenId: 'pilot@pve!bot', secret: 'pilot-secret', privsep: false }],
        acl: [{ path: '/vms/102', roles: 'PVEVMUser', users: ['pilot@pve'] }],
      },
    });
    const answer = await rawPost(sim, '/api2/json/cluster/bulk-action/guest/start', 'vms=102&vms=100', {
      authorization: 'PVEAPIToken=pilot@pve!bot=pilot-secret',
    });
    expect(answer).toMatchObject({ status: 403, reason: 'Permission check failed (/vms/100, VM.PowerMgmt)' });
    expect(sim.state.guests.get(102)?.status).toBe('stopped');
  });

  it('does not exist before pve-manager 9.0.13: 501 like any unknown path', async () => {
    sim = await fastSim({ pveVersion: '8.4.1' });
    const r = await bulk('start', 'vms=102');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'POST /api2/json/cluster/bulk-action/guest/start' not implemented");
    expect(sim.state.guests.get(102)?.status).toBe('stopped');
  });
});

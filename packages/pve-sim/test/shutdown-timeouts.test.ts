import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, taskLog, waitTask } from './helpers.js';
import { rawPost } from './raw-post.js';

let sim: PveSim;
afterEach(() => sim?.close());

/** 1000× faster: PVE's 60 s default wait passes in 60 ms. */
const quickSim = (options: Parameters<typeof fastSim>[0] = {}) => fastSim({ timeScale: 1000, ...options });

describe('shutdown of a guest that ignores ACPI (qemu-server _do_vm_stop, vm_shutdown)', () => {
  it('fails the task after the default 60 s with "got timeout" and leaves the guest running', async () => {
    sim = await quickSim();
    sim.setIgnoresAcpi(100, true);
    const upid = (await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown')).body.data as string;
    const done = await waitTask(sim, upid);
    expect(done.exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect(sim.state.guests.get(100)?.status).toBe('running');
    const task = sim.state.tasks.tasks.get(upid)!;
    expect(task.endtime! - task.starttime).toBeGreaterThanOrEqual(60);
  });

  it('with forceStop warns in the log, stops the guest and ends the task OK', async () => {
    sim = await quickSim();
    sim.setIgnoresAcpi(100, true);
    const upid = (
      await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown', { params: { forceStop: 1, timeout: 5 } })
    ).body.data as string;
    expect((await waitTask(sim, upid)).exitstatus).toBe('OK');
    expect(await taskLog(sim, upid)).toEqual(['VM still running - terminating now with SIGTERM', 'TASK OK']);
    expect(sim.state.guests.get(100)?.status).toBe('stopped');
  });

  it('waits the config’s startup down= when no timeout is sent', async () => {
    sim = await quickSim();
    sim.setIgnoresAcpi(100, true);
    sim.editGuestConfig(100, { startup: 'order=2,down=7' });
    const upid = (await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown')).body.data as string;
    await waitTask(sim, upid);
    const task = sim.state.tasks.tasks.get(upid)!;
    expect(task.exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect(task.endtime! - task.starttime).toBeLessThan(60);
  });

  it('lets a seeded share of guests ignore shutdowns, each guest consistently', async () => {
    sim = await quickSim({
      scenario: { ...structuredClone(presets.school!), guestBehaviour: { ignoreAcpiRate: 0.5 } },
    });
    const running = [...sim.state.guests.values()].filter((g) => g.status === 'running' && g.type === 'qemu');
    const sample = running.slice(0, 40);
    const outcomes = await Promise.all(
      sample.map(async (g) => {
        const upid = (
          await call(sim, 'POST', `/nodes/${g.node}/qemu/${g.vmid}/status/shutdown`, { params: { timeout: 10 } })
        ).body.data as string;
        return (await waitTask(sim, upid)).exitstatus;
      }),
    );
    const ignored = outcomes.filter((o) => o === 'VM quit/powerdown failed - got timeout').length;
    expect(ignored).toBeGreaterThan(5);
    expect(ignored).toBeLessThan(35);
    for (const g of sample) expect(g.ignoresAcpi).toBe(g.status === 'running');
  });

  it('is switched per guest through the control API', async () => {
    sim = await quickSim();
    const set = await rawPost(sim, '/_sim/guests/100/acpi', JSON.stringify({ ignores: true }), {
      contentType: 'application/json',
    });
    expect(set.status).toBe(200);
    const ignored = (await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown')).body.data as string;
    expect((await waitTask(sim, ignored)).exitstatus).toBe('VM quit/powerdown failed - got timeout');
    await rawPost(sim, '/_sim/guests/100/acpi', JSON.stringify({ ignores: false }), {
      contentType: 'application/json',
    });
    const obeyed = (await call(sim, 'POST', '/nodes/pve1/qemu/100/status/shutdown')).body.data as string;
    expect((await waitTask(sim, obeyed)).exitstatus).toBe('OK');
    expect(sim.state.guests.get(100)?.status).toBe('stopped');
    const bad = await rawPost(sim, '/_sim/guests/100/acpi', JSON.stringify({ ignores: 'yes' }), {
      contentType: 'application/json',
    });
    expect(bad.status).toBe(400);
  });
});

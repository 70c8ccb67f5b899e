import { describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { migrateVm } from '../src/cloning/migrate-vm.js';
import { taskOptions, type DeploymentTiming } from '../src/deploy/deployment-timing.js';
import { createLogger } from '../src/index.js';
import { systemClock } from '../src/ports/clock.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();
const LIST = 'GET /nodes/{node}/tasks';
const STATUS = 'GET /nodes/{node}/tasks/{upid}/status';
const LOG = 'GET /nodes/{node}/tasks/{upid}/log';

/** A deployment's timing on a simulator `timeScale` times faster than PVE, polling every `pollIntervalMs`. */
function timing(timeScale: number, pollIntervalMs: number): DeploymentTiming {
  return {
    clock: systemClock,
    logger: createLogger({ level: 'error', sink: () => {} }),
    pollIntervalMs,
    cloneTimeoutMs: 60_000,
    timeScale,
  };
}

/** `small` with stopped 32 GiB guests on local lvm-thin: 102 on pve3 (the preset's) and 103 on pve1. */
function twoStoppedGuests() {
  const scenario = structuredClone(presets.small!);
  scenario.guests!.push({
    vmid: 103,
    node: 'pve1',
    name: 'second',
    memory: 512,
    cores: 1,
    disks: { scsi0: { storage: 'local-lvm', sizeGiB: 32 } },
  });
  return scenario;
}

/** Reads of the log by halving the time left: about log2(duration / poll) of them, plus the few before the copy's rate is known. */
const halvingReads = (modelSeconds: number, timeScale: number, pollMs: number): number =>
  Math.ceil(Math.log2((modelSeconds * 1000) / timeScale / pollMs)) + 6;

describe('a copy followed by its progress: a migration waits by its expected end', () => {
  it('reads a migration’s log halfway to its expected end each time and its status about once', async () => {
    // 32 GiB at local-lvm's 400 MiB/s: 82 s on the model, 0.82 s at ×100; polls every 5 ms.
    const sim: PveSim = track(await fastSim({ timeScale: 100 }));
    const api = track(clientFor(sim));
    sim.requests.reset();
    await migrateVm(
      api,
      { node: 'pve3', vmid: 102, target: 'pve2' },
      taskOptions(timing(100, 5), 60_000, { kind: 'migrate' }),
    );
    expect(sim.state.guests.get(102)?.node).toBe('pve2');
    // Polling at the deploy's longest interval (4 polls) would read ~40 times; the end is read from
    // the copy's progress instead: its status (through the node's list, then the exit status) a few times.
    expect(sim.requests.count(LIST) + sim.requests.count(STATUS)).toBeLessThanOrEqual(6);
    expect(sim.requests.count(LOG)).toBeGreaterThanOrEqual(2);
    expect(sim.requests.count(LOG)).toBeLessThanOrEqual(halvingReads(82, 100, 5));
  });

  it('follows two migrations sharing the target storage’s throughput, each re-estimating its end', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 100, scenario: twoStoppedGuests() }));
    const api = track(clientFor(sim));
    sim.requests.reset();
    const wait = taskOptions(timing(100, 5), 60_000, { kind: 'migrate' });
    const first = migrateVm(api, { node: 'pve3', vmid: 102, target: 'pve2' }, wait);
    // The second starts once the first is under way: the first slows to half its rate then, and
    // speeds up again when the second's share is free.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all([first, migrateVm(api, { node: 'pve1', vmid: 103, target: 'pve2' }, wait)]);
    expect([sim.state.guests.get(102)?.node, sim.state.guests.get(103)?.node]).toEqual(['pve2', 'pve2']);
    // Together at most 123 s on the model (64 GiB at 400 MiB/s, the first's head start alone).
    expect(sim.requests.count(LIST) + sim.requests.count(STATUS)).toBeLessThanOrEqual(2 * 6);
    expect(sim.requests.count(LOG)).toBeLessThanOrEqual(2 * halvingReads(164, 100, 5));
  });
});

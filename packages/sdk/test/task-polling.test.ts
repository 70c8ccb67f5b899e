import { describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { PveTaskFailedError } from '../src/errors/index.js';
import type { ProxmoxClient } from '../src/index.js';
import { RetryBudget, waitForTask } from '../src/pve/index.js';
import { withRetryBudget } from '../src/pve/budgeted-api.js';
import { taskWatcher } from '../src/tasks/task-watcher.js';
import { systemClock } from '../src/ports/clock.js';
import { clientFor, closeAfterEach, expectSchemaValidRequests, fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

const { track } = closeAfterEach();
const LIST = 'GET /nodes/{node}/tasks';
const STATUS = 'GET /nodes/{node}/tasks/{upid}/status';

/** `small` with eight stopped guests 200–207 on pve1, for start tasks that share no lock. */
function withStoppedGuests() {
  const scenario = structuredClone(presets.small!);
  for (let vmid = 200; vmid < 208; vmid++)
    scenario.guests!.push({
      vmid,
      node: 'pve1',
      name: `guest-${vmid}`,
      memory: 512,
      cores: 1,
      disks: { scsi0: { storage: 'local-lvm', sizeGiB: 4 } },
    });
  return scenario;
}

/** Starts guests `vmids` on pve1 at once: their UPIDs. */
async function startMany(client: ProxmoxClient, vmids: number[]): Promise<string[]> {
  return Promise.all(vmids.map((vmid) => client.post<string>(`/nodes/pve1/qemu/${vmid}/status/start`)));
}

/** Linked clones of template 9000 on pve1, all sent at once: their UPIDs. */
async function cloneMany(client: ProxmoxClient, first: number, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.post<string>('/nodes/pve1/qemu/9000/clone', { newid: first + i, name: `poll-${first + i}` }),
    ),
  );
}

describe('task polling: one listing for many waiters, expected durations', () => {
  it('serves many waiters on one node with one task listing each time, which also gives each exit status', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 5, scenario: withStoppedGuests() }));
    const client = track(clientFor(sim));

    sim.requests.reset();
    const watcher = taskWatcher(client, systemClock);
    const before = { listings: watcher.listings, served: watcher.served };
    const results = await Promise.all(
      (await startMany(client, [204, 205, 206, 207])).map((upid) =>
        waitForTask(client, upid, { pollIntervalMs: 10, maxPollIntervalMs: 10, sharedTaskList: true }),
      ),
    );
    expect(results.map((r) => r.exitstatus)).toEqual(Array(4).fill('OK'));
    // The listing (the node's active tasks and those archived since the oldest waiter's start) gave
    // each task's exit status once it ended: no status read, while it ran or after.
    expect(sim.requests.count(STATUS)).toBe(0);
    const listings = sim.requests.count(LIST);
    expect(listings).toBe(watcher.listings - before.listings);
    expect(listings).toBeGreaterThan(1);
    // Listings answered the four waiters together: without sharing, every answer would cost a
    // listing of its own (served = listings).
    expect(watcher.served - before.served).toBeGreaterThanOrEqual(2 * listings);
    expectSchemaValidRequests(sim);
  });

  it('serves the waiters of several deployments (each with its own retry budget) with the same listings', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 5, scenario: withStoppedGuests() }));
    const client = track(clientFor(sim));
    // Two deployments at once: each wraps the cluster's client with its own budget.
    const budgets = [new RetryBudget(), new RetryBudget()];
    const apis = budgets.map((b) => withRetryBudget(client, b));
    const watcher = taskWatcher(client, systemClock);
    for (const api of apis) expect(taskWatcher(api, systemClock)).toBe(watcher);

    const upids = await startMany(client, [200, 201, 202, 203]);
    sim.requests.reset();
    const before = { listings: watcher.listings, served: watcher.served };
    await Promise.all(
      upids.map((upid, i) =>
        waitForTask(apis[i % 2]!, upid, { pollIntervalMs: 10, maxPollIntervalMs: 10, sharedTaskList: true }),
      ),
    );
    const listings = sim.requests.count(LIST);
    // Every listing was the one watcher's, and answered waiters of both deployments.
    expect(listings).toBeGreaterThan(0);
    expect(listings).toBe(watcher.listings - before.listings);
    expect(watcher.served - before.served).toBeGreaterThanOrEqual(2 * listings);
    // Each read was charged to one of the deployments' budgets, none to neither.
    expect(budgets[0]!.requests + budgets[1]!.requests).toBe(sim.requests.total);
    expect(sim.requests.count(STATUS)).toBe(0);
  });

  it('still reports a failed task among many, with its exit status and log', async () => {
    const sim: PveSim = track(
      await fastSim({
        timeScale: 50,
        scenario: { ...structuredClone(presets.small!), timings: { shutdownSeconds: 60 } },
      }),
    );
    const client = track(clientFor(sim));
    const clones = await cloneMany(client, 600, 4);
    const shutdown = await client.post<string>('/nodes/pve1/qemu/100/status/shutdown', { timeout: 2 });
    const wait = (upid: string) =>
      waitForTask(client, upid, { pollIntervalMs: 10, maxPollIntervalMs: 20, sharedTaskList: true }).then(
        (r) => r.exitstatus,
        (e: unknown) => e,
      );
    sim.requests.reset();
    const [failed, ...ok] = await Promise.all([wait(shutdown), ...clones.map(wait)]);
    // Every exit status, the failure's too, came with a listing; the failure's log was read for its tail.
    expect(sim.requests.count(STATUS)).toBe(0);
    expect(ok).toEqual(Array(4).fill('OK'));
    expect(failed).toBeInstanceOf(PveTaskFailedError);
    expect((failed as PveTaskFailedError).exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect((failed as PveTaskFailedError).logTail.at(-1)).toBe('TASK ERROR: VM quit/powerdown failed - got timeout');
  });

  it('reads a task first after its expected duration, once when it has ended by then', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 50 }));
    const client = track(clientFor(sim));
    const [upid] = await cloneMany(client, 700, 1);
    sim.requests.reset();
    // A linked clone takes a few model seconds: well under 2 s at ×50.
    await waitForTask(client, upid!, { pollIntervalMs: 5, maxPollIntervalMs: 5, expectedMs: 2000 });
    expect(sim.requests.count(STATUS)).toBe(1);
  });

  it('reads a full clone’s progress log at its own cadence, not at every poll, and still ends at 100 %', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 200 }));
    const client = track(clientFor(sim));
    const upid = await client.post<string>('/nodes/pve1/qemu/9000/clone', { newid: 800, name: 'full', full: true });
    sim.requests.reset();
    const percents: number[] = [];
    let readsBeforeCopy = 0;
    const result = await waitForTask(client, upid, {
      pollIntervalMs: 5,
      maxPollIntervalMs: 5,
      sharedTaskList: true,
      logIntervalMs: 50,
      onProgress: (p) => {
        if (percents.length === 0) readsBeforeCopy = sim.requests.count('GET /nodes/{node}/tasks/{upid}/log');
        percents.push(p);
      },
    });
    expect(percents.at(-1)).toBe(100);
    expect(percents.length).toBeGreaterThan(1);
    // At every poll until the copy starts (a caller may wait for that), then every 50 ms while it
    // ran, and once at its end; not at every 5 ms poll.
    expect(sim.requests.count('GET /nodes/{node}/tasks/{upid}/log')).toBeLessThanOrEqual(
      readsBeforeCopy + Math.floor(result.waitedMs / 50) + 2,
    );
  });

  it('deploys a class with at most 20 PVE requests per created VM', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 50 }));
    const students = Array.from({ length: 8 }, (_, i) => `student${i}`);
    const { engine, api } = await labOver(sim, { students });
    track(api);
    const plan = await engine.plan({ classId: 'cs101', count: students.length, template: 'ubuntu' });
    sim.requests.reset();
    const earlier = new Set(sim.state.tasks.tasks.keys());
    const summary = await (await engine.apply(plan)).done;
    expect(summary.status).toBe('done');
    const tasks = [...sim.state.tasks.tasks.keys()].filter((upid) => !earlier.has(upid)).length;
    // Students, the teacher VM, the base and its copies to the nodes the class spreads over.
    expect(summary.created).toBe(students.length + 2 + plan.replicateBaseTo.length);
    const perVm = sim.requests.total / summary.created;
    expect(perVm).toBeLessThanOrEqual(20);
    // Tasks were followed through the node's task list, with one status read each at the end.
    expect(sim.requests.count(LIST)).toBeGreaterThan(0);
    expect(sim.requests.count(STATUS)).toBeLessThanOrEqual(tasks + 2);
  });
});

import { describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { CloneOutcomeUnknownError, PveHttpError } from '../src/errors/index.js';
import { DeploymentEngine } from '../src/index.js';
import { RetryBudget, cloneVm, pveResources } from '../src/pve/index.js';
import { labOver } from './deployment-fixture.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const CLONE_PATH = '/nodes/{node}/qemu/{vmid}/clone';
const CLONES = `POST ${CLONE_PATH}`;
const STUDENTS = Array.from({ length: 30 }, (_, i) => `student${String(i + 1).padStart(2, '0')}`);
const { track } = closeAfterEach();

describe('one retry policy: the client, under a retry budget', () => {
  it('stops retrying at once when the budget is spent, and counts what it refused', async () => {
    const sim = track(await fastSim());
    const client = track(clientFor(sim));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'http-503', count: 10 });
    const budget = new RetryBudget({ minRetries: 1, ratio: 0 });
    await expect(client.get('/nodes', undefined, { retryBudget: budget })).rejects.toBeInstanceOf(PveHttpError);
    expect(sim.requests.count('GET /nodes')).toBe(2);
    expect({ requests: budget.requests, retries: budget.retries, denied: budget.denied }).toEqual({
      requests: 1,
      retries: 1,
      denied: 1,
    });
  });

  it('lets a budgeted request make more attempts than the client default, because the budget bounds the total', async () => {
    const sim = track(await fastSim());
    const client = track(clientFor(sim, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'http-503', count: 3 });
    const nodes = await pveResources(client, {
      retryBudget: new RetryBudget({ maxAttemptsPerRequest: 4 }),
    }).nodes.list();
    expect(nodes.map((n) => n.node)).toContain('pve1');
    expect(sim.requests.count('GET /nodes')).toBe(4);
  });

  it('never resends a clone itself: a lost answer becomes CloneOutcomeUnknownError naming the VMID', async () => {
    const sim = track(await fastSim());
    const client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', count: 1 });
    const error = await pveResources(client)
      .qemu('pve1', 9000)
      .clone({ newid: 300, name: 'lost' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloneOutcomeUnknownError);
    expect(error).toMatchObject({ code: 'LAB_CLONE_OUTCOME_UNKNOWN', vmid: 300 });
    expect(sim.requests.count(CLONES)).toBe(1);
  });
});

describe('cloneVm after a lost clone answer', () => {
  const source = { node: 'pve1', vmid: 9000 };

  it('sends the clone once more when its VMID stays free (PVE never took it), and makes the VM once', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', count: 1 });
    const result = await cloneVm(client, { source, name: 'again', pollIntervalMs: 25, lostAnswerGraceMs: 300 });
    expect(sim.requests.count(CLONES)).toBe(2);
    expect(sim.state.acceptedClones.filter((c) => c.name === 'again').map((c) => c.newid)).toEqual([result.vmid]);
  });

  it('does not send it again when PVE took it (the VMID appears): it says which VM to adopt', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'reset-after', count: 1 });
    const error = await cloneVm(client, { source, name: 'taken', pollIntervalMs: 25, lostAnswerGraceMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CloneOutcomeUnknownError);
    expect(sim.requests.count(CLONES)).toBe(1);
    const vmid = (error as CloneOutcomeUnknownError).vmid;
    expect(sim.state.guests.has(vmid)).toBe(true);
    expect(sim.state.acceptedClones.filter((c) => c.name === 'taken').map((c) => c.newid)).toEqual([vmid]);
  });

  it('charges the resend to the retry budget: a spent budget sends nothing more', async () => {
    const sim = track(await fastSim({ timeScale: 400 }));
    const client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', count: 1 });
    const retryBudget = new RetryBudget({ minRetries: 0, ratio: 0 });
    await expect(
      cloneVm(client, { source, name: 'spent', pollIntervalMs: 25, lostAnswerGraceMs: 100, retryBudget }),
    ).rejects.toBeInstanceOf(CloneOutcomeUnknownError);
    expect(sim.requests.count(CLONES)).toBe(1);
  });
});

describe('a deployment under 10 % transient faults on clone POSTs', () => {
  it('sends at most one retry per failed clone request and still makes every VM exactly once', async () => {
    const sim: PveSim = track(await startPveSim({ timeScale: 400, cloneRaceRate: 0 }));
    const lab = await labOver(sim, { students: STUDENTS });
    track(lab.api);
    const engine = new DeploymentEngine({
      store: lab.store,
      clusters: lab.clusters,
      catalog: lab.catalog,
      pollIntervalMs: 25,
      cloneLostAnswerGraceMs: 500,
    });
    // Both outcomes at least once, then 10 % at random: a 503 PVE never acted on, or a reset after it did.
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', count: 1 });
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'reset-after', count: 1 });
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', rate: 0.05 });
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'reset-after', rate: 0.05 });

    const summary = await engine.deploy({
      classId: 'cs101',
      count: 30,
      template: 'ubuntu',
      strategy: 'pack',
      requestedBy: 'teacher',
    });
    expect(summary).toMatchObject({
      status: 'done',
      created: 32,
      failed: [],
      orphans: [],
      unregistered: [],
      duplicates: [],
    });

    const [first503, firstReset, random503, randomReset] = sim.faults.list().map((r) => r.hits);
    const refused = first503! + random503!;
    const lostAnswers = firstReset! + randomReset!;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(lostAnswers).toBeGreaterThanOrEqual(1);
    const sent = sim.requests.count(CLONES);
    const retries = sent - 32;
    // At most one retry per failed request: one per refused POST, and at most one after a lost answer
    // (none when the VM shows up within the grace period and is adopted; one when a loaded machine
    // lets the grace period pass first, and the resend then finds the VMID taken and adopts it).
    expect(retries).toBeLessThanOrEqual(refused + lostAnswers);
    expect(retries).toBeGreaterThanOrEqual(refused);

    const perName = new Map<string, number>();
    for (const c of sim.state.acceptedClones.filter((x) => x.outcome === 'ok'))
      perName.set(c.name ?? '?', (perName.get(c.name ?? '?') ?? 0) + 1);
    expect(perName.size).toBe(32);
    expect([...perName].filter(([, n]) => n !== 1)).toEqual([]);
    const classVms = [...sim.state.guests.values()].filter((g) => (g.config.name ?? '').startsWith('cs101-'));
    expect(classVms).toHaveLength(32);
    for (const g of classVms) expect(g.config.lock, g.config.name).toBeUndefined();
  });
});

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog, type DeploymentSummary, type Store } from '@lab/proxmox-sdk';
import { presets, startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { createScratchPostgresDatabase, postgresUnavailableReason } from './engines.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-takeover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pgReason = await postgresUnavailableReason();
if (pgReason) console.log(`[deployment take-over] PostgreSQL skipped: ${pgReason}`);
const WORKER = resolve(import.meta.dirname, 'fixtures/deploy-worker.mjs');
const LEASE_TTL_MS = 1500;

interface Worker {
  child: ChildProcessWithoutNullStreams;
  events: Array<Record<string, unknown>>;
  /** Resolves when a printed line satisfies `test` (or the worker ends). */
  until(test: (events: Array<Record<string, unknown>>) => boolean): Promise<void>;
  exited: Promise<{ code: number | null; summaries: DeploymentSummary[]; stderr: string }>;
}

function startWorker(
  sim: PveSim,
  storeUrl: string,
  mode: 'deploy' | 'takeover' | 'reset',
  count: number | string = 0,
): Worker {
  const connection = JSON.stringify({
    url: sim.url,
    fingerprint: sim.fingerprint,
    tokenId: sim.tokenId,
    tokenSecret: sim.tokenSecret,
  });
  const child = spawn(process.execPath, [WORKER, connection, storeUrl, mode, String(count)], {
    env: { ...process.env, LEASE_TTL_MS: String(LEASE_TTL_MS) },
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ test: (e: typeof events) => boolean; resolve: () => void }> = [];
  let buffer = '';
  let stderr = '';
  let summaries: DeploymentSummary[] = [];
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.type === 'exit') summaries = event.summaries as DeploymentSummary[];
      events.push(event);
    }
    for (const w of waiters.splice(0)) {
      if (w.test(events)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<{ code: number | null; summaries: DeploymentSummary[]; stderr: string }>((r) =>
    child.on('exit', (code) => r({ code, summaries, stderr })),
  );
  void exited.then(() => waiters.splice(0).forEach((w) => w.resolve()));
  return {
    child,
    events,
    exited,
    until: (test) => (test(events) ? Promise.resolve() : new Promise<void>((r) => waiters.push({ test, resolve: r }))),
  };
}

/** Resolves once `condition` holds (checked every few ms: it reads the simulator) or the worker has ended. */
async function simReaches(worker: Worker, condition: () => boolean): Promise<void> {
  let ended = false;
  void worker.exited.then(() => (ended = true));
  while (!ended && !condition()) await new Promise((r) => setTimeout(r, 5));
}

async function kill(worker: Worker): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

async function setUpSchool(store: Store, students: number): Promise<void> {
  const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'Ada', role: 'teacher' }, 1);
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: teacher.id }, 1);
  for (let i = 1; i <= students; i++) {
    const p = await store.classes.createPerson(
      { username: `s${String(i).padStart(2, '0')}`, displayName: `Student ${i}`, role: 'student' },
      1,
    );
    await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
  }
}

function clientFor(sim: PveSim): ProxmoxClient {
  return new ProxmoxClient({
    clusterId: 'lab',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
  });
}

/** The cluster as the class sees it must match the store: each student one VM, nothing extra, nothing locked. */
async function expectClusterMatchesStore(sim: PveSim, store: Store, seats: number): Promise<void> {
  const guests = [...sim.state.guests.values()];
  const ours = guests.filter(
    (g) =>
      (g.config.tags ?? '').split(';').includes('class-cs101') || (g.config.description ?? '').includes('class=cs101 '),
  );
  for (const g of ours) {
    expect(g.config.lock, `VM ${g.vmid} ${g.config.name}`).toBeUndefined();
    expect(g.config.tags, `VM ${g.vmid} ${g.config.name} is tagged`).toMatch(/^class-cs101;lab;(.*;)?role-/);
    expect(await store.classes.assignment('lab', g.vmid), `VM ${g.vmid} ${g.config.name} is registered`).toMatchObject({
      classId: 'cs101',
    });
  }
  const vmNames = ours.filter((g) => g.config.template !== '1').map((g) => g.config.name);
  expect(vmNames.length, 'no VM name twice').toBe(new Set(vmNames).size);
  expect(vmNames).toHaveLength(seats + 1);
  for (const a of await store.classes.assignmentsOfClass('cs101'))
    expect(sim.state.guests.has(a.vmid), `assigned VM ${a.vmid} exists`).toBe(true);
  const students = (await store.classes.members('cs101')).filter((m) => m.role === 'student');
  let withVm = 0;
  for (const m of students) {
    const owned = (await store.classes.assignmentsOf(m.personId)).filter((a) => a.classId === 'cs101');
    expect(owned.length).toBeLessThanOrEqual(1);
    withVm += owned.length;
  }
  expect(withVm).toBe(Math.min(seats, students.length));
  expect(await store.deployments.unfinished()).toEqual([]);
}

const engines = pgReason ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);

describe.each(engines)('a deployment owned by one process on %s', (engine) => {
  it('is not run again by a second process; after SIGKILL the second takes over once the lease expires; each VM cloned exactly once', async () => {
    // Clones also lose lock races to other clients now and then (they fail as tasks and are retried).
    const sim = await startPveSim({ timeScale: 10, cloneRaceRate: 0.1 });
    const scratch = engine === 'postgres' ? await createScratchPostgresDatabase() : undefined;
    const storeUrl = scratch?.url ?? `sqlite:${join(dir, 'two-processes.db')}`;
    const store = await openStore(storeUrl);
    const api = clientFor(sim);
    try {
      const catalog = new TemplateCatalog({ store, clusters: { get: () => api, ids: () => ['lab'] } });
      await catalog.create({
        name: 'ubuntu',
        memory: 2048,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
      });
      await setUpSchool(store, 30);

      const a = startWorker(sim, storeUrl, 'deploy', 30);
      await a.until((events) => events.some((e) => e.type === 'registered'));
      const b = startWorker(sim, storeUrl, 'takeover');
      await a.until((events) => events.filter((e) => e.type === 'registered').length >= 12);
      expect(
        b.events.filter((e) => e.type === 'planned'),
        'B stays out while A holds the lease',
      ).toEqual([]);
      await kill(a);
      const end = await b.exited;
      expect(end.code, end.stderr).toBe(0);
      expect(end.summaries).toHaveLength(1);
      expect(end.summaries[0]).toMatchObject({
        status: 'done',
        failed: [],
        orphans: [],
        unregistered: [],
        duplicates: [],
      });

      const perName = new Map<string, number>();
      for (const c of sim.state.acceptedClones.filter((x) => x.outcome !== 'failed'))
        perName.set(c.name ?? '?', (perName.get(c.name ?? '?') ?? 0) + 1);
      expect([...perName].filter(([, n]) => n !== 1)).toEqual([]);
      expect(perName.size).toBe(32);
      const record = (await store.deployments.get(end.summaries[0]!.deploymentId))!;
      expect(end.summaries[0]!.durationMs, 'timed from the start, not from the take-over').toBe(
        record.finishedAt! - record.createdAt,
      );
      await expectClusterMatchesStore(sim, store, 30);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
      await scratch?.drop();
    }
  }, 120_000);
});

describe('a reset killed in the middle', () => {
  it('is finished by the next process: the student has exactly one VM, assigned, with the same name and VMID', async () => {
    const sim = await startPveSim({ timeScale: 10 });
    const storeUrl = `sqlite:${join(dir, 'reset.db')}`;
    const store = await openStore(storeUrl);
    const api = clientFor(sim);
    try {
      const catalog = new TemplateCatalog({ store, clusters: { get: () => api, ids: () => ['lab'] } });
      await catalog.create({
        name: 'ubuntu',
        memory: 2048,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
      });
      await setUpSchool(store, 3);
      const deployed = await startWorker(sim, storeUrl, 'deploy', 3).exited;
      expect(deployed.summaries[0]?.status, deployed.stderr).toBe('done');
      const s02 = (await store.classes.getPersonByUsername('s02'))!;
      const [before] = await store.classes.assignmentsOf(s02.id);
      const oldGuest = sim.state.guests.get(before!.vmid)!;
      const clonesBefore = sim.state.acceptedClones.length;

      // Killed once the old VM is gone and its replacement's clone has been sent.
      const a = startWorker(sim, storeUrl, 'reset', 's02');
      await a.until((events) => events.some((e) => e.type === 'cloning'));
      await a.until(() => sim.state.acceptedClones.length > clonesBefore);
      await kill(a);
      expect(sim.state.guests.get(before!.vmid)).not.toBe(oldGuest);
      expect(await store.classes.assignmentsOf(s02.id), 'the assignment is kept while the VM is re-created').toEqual([
        expect.objectContaining({ vmid: before!.vmid }),
      ]);

      const b = startWorker(sim, storeUrl, 'takeover');
      const end = await b.exited;
      expect(end.code, end.stderr).toBe(0);
      expect(end.summaries).toEqual([expect.objectContaining({ status: 'done', created: 1, failed: [] })]);
      const record = (await store.deployments.get(end.summaries[0]!.deploymentId))!;
      expect(end.summaries[0]!.durationMs, 'timed from the start, not from the take-over').toBe(
        record.finishedAt! - record.createdAt,
      );
      const after = await store.classes.assignmentsOf(s02.id);
      expect(after).toEqual([expect.objectContaining({ vmid: before!.vmid, classId: 'cs101', role: 'student' })]);
      const named = [...sim.state.guests.values()].filter((g) => g.config.name === 'cs101-s02');
      expect(named.map((g) => g.vmid)).toEqual([before!.vmid]);
      expect(named[0]!.config.lock).toBeUndefined();
      expect(sim.state.acceptedClones.slice(clonesBefore).map((c) => c.name)).toEqual(['cs101-s02']);
      await expectClusterMatchesStore(sim, store, 3);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 60_000);
});

describe('a worker whose permission check PVE answers 503 more often than the client alone retries', () => {
  it('retries it with backoff and finishes the class after taking over a killed deployment: each VM cloned once', async () => {
    const sim = await startPveSim({ timeScale: 10 });
    const storeUrl = `sqlite:${join(dir, 'permission-503.db')}`;
    const store = await openStore(storeUrl);
    const api = clientFor(sim);
    try {
      const catalog = new TemplateCatalog({ store, clusters: { get: () => api, ids: () => ['lab'] } });
      await catalog.create({
        name: 'ubuntu',
        memory: 2048,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
      });
      await setUpSchool(store, 6);
      const a = startWorker(sim, storeUrl, 'deploy', 4);
      await a.until((events) => events.filter((e) => e.type === 'registered').length >= 2);
      await kill(a);

      // One failure more than the client's own three attempts, at the start of the next worker's plan.
      const permissionFaults = sim.faults.add({
        method: 'GET',
        path: '/access/permissions',
        kind: 'http-503',
        count: 4,
      });
      const permissionChecksBefore = sim.requests.count('GET /access/permissions');
      const b = startWorker(sim, storeUrl, 'deploy', 6);
      const end = await b.exited;
      expect(end.code, end.stderr).toBe(0);
      expect(sim.faults.list()[permissionFaults]!.hits).toBe(4);
      expect(sim.requests.count('GET /access/permissions') - permissionChecksBefore).toBeGreaterThanOrEqual(5);
      expect(end.summaries.at(-1)).toMatchObject({
        status: 'done',
        failed: [],
        orphans: [],
        unregistered: [],
        duplicates: [],
      });
      const perName = new Map<string, number>();
      for (const c of sim.state.acceptedClones.filter((x) => x.outcome !== 'failed'))
        perName.set(c.name ?? '?', (perName.get(c.name ?? '?') ?? 0) + 1);
      expect(
        [...perName].filter(([, n]) => n !== 1),
        'no VM cloned twice',
      ).toEqual([]);
      expect(perName.size).toBe(8);
      await expectClusterMatchesStore(sim, store, 6);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 60_000);
});

describe('deployments killed at random moments, replicas and migrations included, under 10 % faults', () => {
  it('end with every student one VM, no duplicate, no orphan, and summaries true against the cluster', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.nodes = [
      { name: 'pve1', memoryGiB: 12 },
      { name: 'pve2', memoryGiB: 128 },
      { name: 'pve3', memoryGiB: 128 },
    ];
    const sim = await startPveSim({ timeScale: 15, scenario, seed: 11 });
    const storeUrl = `sqlite:${join(dir, 'chaos.db')}`;
    const store = await openStore(storeUrl);
    const api = clientFor(sim);
    const clusters = { get: () => api, ids: () => ['lab'] };
    let seed = 5;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    try {
      const catalog = new TemplateCatalog({ store, clusters });
      await catalog.create({
        name: 'ubuntu',
        memory: 2048,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
      });
      await setUpSchool(store, 14);
      sim.faults.add({ method: 'GET', kind: 'http-503', rate: 0.1 });
      sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', kind: 'reset-after', rate: 0.1 });
      sim.faults.add({ method: 'PUT', kind: 'http-503', rate: 0.1 });

      let seats = 8;
      let kills = 0;
      let replicaKills = 0;
      let copiesDone = false;
      for (let round = 0; kills < 10; round++) {
        expect(round, 'the kill loop makes progress').toBeLessThan(30);
        const worker = startWorker(sim, storeUrl, 'deploy', seats);
        const clonesBefore = sim.state.acceptedClones.length;
        const migrations = () => [...sim.state.tasks.tasks.values()].filter((t) => t.type === 'qmigrate').length;
        const migrationsBefore = migrations();
        // Kill only once the worker is at work (it may first wait for a dead worker's lease to expire).
        await Promise.race([worker.until((events) => events.some((e) => e.type === 'planned')), worker.exited]);
        // The first kills land while a copy of the base template is cloned or migrated; the others at
        // random points of the work. Every kill point is a point of progress, never a time: a loaded
        // machine kills as far into the work as an idle one.
        const onReplica = kills < 4 && !copiesDone;
        if (onReplica) {
          await Promise.race([
            worker.until((events) => events.some((e) => e.type === 'cloning' && String(e.name).includes('@'))),
            worker.exited,
          ]);
          const moment = Math.floor(random() * 3);
          // 0: as the copy's clone is asked for; 1: once PVE runs it (or, for a copy a killed worker
          // cloned, once it moves); 2: once the copy's migration has started.
          const copyCloned = () =>
            sim.state.acceptedClones.slice(clonesBefore).some((c) => c.name === 'cs101-base' && c.sourceVmid !== 9000);
          if (moment === 1) await simReaches(worker, () => copyCloned() || migrations() > migrationsBefore);
          if (moment === 2) await simReaches(worker, () => migrations() > migrationsBefore);
        } else {
          const registered = worker.events.filter((e) => e.type === 'registered').length + 1 + Math.floor(random() * 4);
          const clones = sim.state.acceptedClones.length + 1 + Math.floor(random() * 4);
          await Promise.race([
            simReaches(worker, () => sim.state.acceptedClones.length >= clones),
            worker.until((events) => events.filter((e) => e.type === 'registered').length >= registered),
            worker.exited,
          ]);
        }
        if (worker.child.exitCode === null) {
          const onCopy =
            worker.events.some((e) => e.type === 'cloning' && String(e.name).includes('@')) &&
            !worker.events.some((e) => e.type === 'registered' && String(e.name).includes('@'));
          await kill(worker);
          kills++;
          if (onCopy) replicaKills++;
          continue;
        }
        const end = await worker.exited;
        copiesDone = true;
        expect(end.code, end.stderr).toBe(0);
        for (const summary of end.summaries)
          expect(summary.status === 'done' || summary.failed.length > 0, JSON.stringify(summary)).toBe(true);
        seats = Math.min(14, seats + 2);
      }
      expect(replicaKills).toBeGreaterThanOrEqual(2);
      expect(sim.state.acceptedClones.length, 'the killed workers did real work').toBeGreaterThan(8);

      sim.faults.clear();
      const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20, leaseTtlMs: LEASE_TTL_MS });
      let summaries: DeploymentSummary[] = [];
      while ((await store.deployments.unfinished()).length > 0) {
        summaries = [...summaries, ...(await engine.resume())];
        await new Promise((r) => setTimeout(r, 200));
      }
      const final = await engine.deploy(
        { classId: 'cs101', count: seats, template: 'ubuntu', strategy: 'pack' },
        { confirmDeletes: true },
      );
      expect(final, JSON.stringify(final)).toMatchObject({
        status: 'done',
        failed: [],
        orphans: [],
        unregistered: [],
        duplicates: [],
      });
      for (const s of summaries.filter((x) => x.status === 'done'))
        expect(s).toMatchObject({ orphans: [], unregistered: [], duplicates: [] });
      await expectClusterMatchesStore(sim, store, seats);
      const copies = [...sim.state.guests.values()].filter(
        (g) => g.config.template === '1' && g.config.tags?.includes('class-cs101'),
      );
      expect(new Set(copies.map((g) => g.node)).size, 'one base copy per node').toBe(copies.length);
      expect(copies.length).toBeGreaterThan(1);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 300_000);
});

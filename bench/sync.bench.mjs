// Sync cost at scale: 100,000 VMs over 10 simulated clusters (about half running; the simulators
// run in a child process, bench/sync-sim-host.mjs, so the memory figures are the syncing process's
// alone). Initial full sync, then 1 % of the VMs change (start, stop, create, delete, retag), then
// one steady-state full sync and one quick sync. Requests are counted by the simulators. During the
// steady phase the class scheduler ticks (schedules, idle policy and quotas on 20 classes) through
// its own clients, so every PVE request it sends is counted apart. `naive_full_sync_requests` is
// what a per-node, per-VM walk (the seeds' approach) sends for the same sync: see bench/README.md.
// `BENCH_SYNC_CLUSTERS`, `BENCH_SYNC_VMS_PER_CLUSTER` and `BENCH_SYNC_CLASS_SIZE` shrink it for a
// quick look; `BENCH_QUICK=1` picks small ones (2 clusters of 1,000 VMs, classes of 5).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassScheduler, InventoryService, ProxmoxClient, SyncEngine, createTcpPortProbe } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import { sql } from 'kysely';
import pg from 'pg';

const QUICK = process.env.BENCH_QUICK === '1';
const CLUSTERS = Number(process.env.BENCH_SYNC_CLUSTERS ?? (QUICK ? 2 : 10));
const PER_CLUSTER = Number(process.env.BENCH_SYNC_VMS_PER_CLUSTER ?? (QUICK ? 1_000 : 10_000));
const CLASS_SIZE = Number(process.env.BENCH_SYNC_CLASS_SIZE ?? (QUICK ? 5 : 30));
const READERS = Math.min(1000, Math.floor((CLUSTERS * PER_CLUSTER) / 3)); // students owning 3 VMs each
const PG_URL = process.env.LAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const mb = (bytes) => Math.round(bytes / 1024 ** 2);
/** The local date (`YYYY-MM-DD`) of `at` in `timeZone`, as a one-off schedule names its day. */
const localDate = (at, timeZone) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(at),
  );

// Resident memory of this (the syncing) process: sampled, and the kernel's peak at the end.
let rssPeak = 0;
const sample = () => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss()));
const sampler = setInterval(sample, 50);

const host = fork(resolve(fileURLToPath(import.meta.url), '../sync-sim-host.mjs'), {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
await new Promise((ready) => host.once('message', ready));
let nextId = 0;
const pending = new Map();
host.on('message', ({ id, ok, value, error }) => {
  const p = pending.get(id);
  pending.delete(id);
  if (ok) p.resolve(value);
  else p.reject(new Error(`sim host: ${error}`));
});
const call = (op, args) =>
  new Promise((res, rej) => {
    const id = ++nextId;
    pending.set(id, { resolve: res, reject: rej });
    host.send({ id, op, args });
  });

const dir = mkdtempSync(join(tmpdir(), 'lab-bench-sync-'));
const endpoints = await call('start', { clusters: CLUSTERS, perCluster: PER_CLUSTER });
const ids = endpoints.map((_, i) => `lab${i + 1}`);
const client = (e, i, observer) =>
  new ProxmoxClient({
    clusterId: ids[i],
    baseUrl: e.url,
    auth: { type: 'token', tokenId: e.tokenId, secret: e.tokenSecret },
    tls: { fingerprint: e.fingerprint },
    maxConcurrentRequests: 16,
    ...(observer ? { observer } : {}),
  });
const apis = endpoints.map((e, i) => client(e, i));
const clusters = { get: (id) => apis[ids.indexOf(id)], ids: () => ids };
// The scheduler's own clients: whatever it sends is counted here, whatever runs beside it.
let schedulerRequests = 0;
const schedulerApis = endpoints.map((e, i) => client(e, i, { pveRequest: () => schedulerRequests++ }));
const schedulerClusters = { get: (id) => schedulerApis[ids.indexOf(id)], ids: () => ids };

const store = await openStore(`sqlite:${join(dir, 'sync.db')}`);
const engine = new SyncEngine({
  store,
  clusters,
  probe: createTcpPortProbe(),
  probeTimeoutMs: 300,
  detailConcurrency: 16,
  probeConcurrency: 64,
});

async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async (file) => writeFileSync(file, JSON.stringify((await session.post('Profiler.stop')).profile)),
  };
}

async function timed(fn) {
  await call('reset');
  const t0 = performance.now();
  const reports = await fn();
  if (reports.some((r) => !r.ok)) throw new Error(`sync failed: ${JSON.stringify(reports.filter((r) => !r.ok))}`);
  return { ms: performance.now() - t0, requests: await call('requests'), reports };
}

const initial = await timed(() => engine.fullSync());
const total = await store.inventory.count();
// The bench reads what it needs cluster by cluster, so its own scaffolding does not hold 100,000
// rows: the memory figures are the sync engine's and the store's.
let running = 0;
const pool = [];
for (const clusterId of ids) {
  const live = await store.inventory.list({ clusterId, status: 'running' });
  running += live.length;
  pool.push(
    live
      .filter((r) => r.type === 'qemu')
      .slice(-Math.ceil((20 * CLASS_SIZE) / ids.length) - 1)
      .reverse(),
  );
}

// The scheduler's classes: 20 × CLASS_SIZE students on running VMs with the highest VMIDs of each cluster
// (the 1 % change below touches the lowest). Classes 0–9 are in a session now (their VMs
// already run), 10–19 have a session next week; 5–14 have an idle policy, 15–19 a quota.
const utcHour = new Date().getUTCHours();
const offset = 12 - utcHour; // a zone where it is about noon now, so the session does not cross midnight
const timezone = offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
const today = localDate(Date.now(), timezone);
const nextWeek = localDate(Date.now() + 7 * 86_400_000, timezone);
let scheduledVms = 0;
await store.transaction(async (tx) => {
  for (let c = 0; c < 20; c++) {
    const classId = `class${c}`;
    await tx.classes.createClass({ id: classId, name: classId, templateId: null, ownerId: null }, Date.now());
    for (let j = 0; j < CLASS_SIZE; j++) {
      const vm = pool[(c * CLASS_SIZE + j) % ids.length].shift();
      if (!vm)
        throw new Error(`not enough running VMs for 20 classes of ${CLASS_SIZE}: raise BENCH_SYNC_VMS_PER_CLUSTER`);
      const person = await tx.classes.createPerson(
        { username: `${classId}-s${j}`, displayName: `${classId} S${j}`, role: 'student' },
        Date.now(),
      );
      await tx.classes.assignVm(
        { clusterId: vm.clusterId, vmid: vm.vmid, personId: person.id, classId, role: 'student' },
        Date.now(),
      );
      scheduledVms++;
    }
    const spec =
      c < 10
        ? { days: today, startTime: '10:00', endTime: '14:00' }
        : { days: nextWeek, startTime: '10:00', endTime: '14:00' };
    await tx.schedules.add({
      classId,
      ...spec,
      timezone,
      startBeforeMin: 10,
      skipDates: [],
      createdBy: 'bench',
      createdAt: Date.now(),
    });
    if (c >= 5)
      await tx.usage.savePolicy({
        classId,
        quotaHours: c >= 15 ? 100 : null,
        maxRunning: c >= 15 ? 2 : null,
        maxRunningInClass: null,
        idleCpuBelowPercent: c < 15 ? 10 : null,
        idleForMinutes: c < 15 ? 60 : null,
      });
  }
});
const scheduler = new ClassScheduler({ store, clusters: schedulerClusters, holderId: 'bench' });
const tickActions = [];
const tick = async () => tickActions.push(...(await scheduler.runOnce()));
await tick(); // the first tick finds the session's VMs running already and claims them
const sessionVmsFound = tickActions.filter((a) => a.outcome === 'already').length;

const changedVms = await call('change');
global.gc?.();
const rssBeforeSteady = process.memoryUsage().rss;
// Steady phase: the full sync with a scheduler tick beside it, then a tick alone (counted by the
// simulators too), then the quick sync with a tick beside it.
schedulerRequests = 0;
let ticks = 0;
const steady = await timed(async () => {
  const [reports] = await Promise.all([engine.fullSync(), tick()]);
  ticks++;
  return reports;
});
await call('reset');
await tick();
ticks++;
const aloneAtSims = await call('requests');
const quick = await timed(async () => {
  const [reports] = await Promise.all([engine.quickSync(), tick()]);
  ticks++;
  return reports;
});
const schedulerSteadyRequests = schedulerRequests;
// Our own processing in a steady quick sync alone: this process's CPU time while it runs (the
// simulators answer from the child process). `BENCH_SYNC_PROFILE=file.cpuprofile` records it.
const profile = process.env.BENCH_SYNC_PROFILE ? await startProfile() : undefined;
const cpu0 = process.cpuUsage();
const quickAlone = await timed(() => engine.quickSync());
const quickCpu = process.cpuUsage(cpu0);
if (profile) await profile.stop(process.env.BENCH_SYNC_PROFILE);
const actionsTaken = tickActions.filter((a) => a.outcome !== 'already');
sample();
const rssAfterSteady = process.memoryUsage().rss;
// The syncs' peak: what follows (the reads, and copying the inventory to PostgreSQL) is the bench's.
clearInterval(sampler);
sample();
const peakRss = Math.max(rssPeak, process.resourceUsage().maxRSS * 1024);
if (process.env.BENCH_SYNC_MEMORY) {
  console.error(JSON.stringify(process.memoryUsage()));
  (await import('node:v8')).writeHeapSnapshot(process.env.BENCH_SYNC_MEMORY);
}

// Reads: "the VMs of this user" for READERS students (1,000 at full size) owning 3 VMs each (read
// after the steady phase), on the SQLite store the sync filled and on PostgreSQL with the same rows.
const readRows = await store.inventory.list({ limit: READERS * 3 });
async function listVmsP99(target) {
  const inventory = new InventoryService({ store: target, clusterIds: clusters.ids, sync: engine });
  const people = [];
  await target.transaction(async (tx) => {
    for (let p = 0; p < READERS; p++) {
      const person = await tx.classes.createPerson(
        { username: `s${p}`, displayName: `S${p}`, role: 'student' },
        Date.now(),
      );
      people.push({ personId: person.id, username: person.username, role: 'student' });
      for (let k = 0; k < 3; k++) {
        const vm = readRows[p * 3 + k];
        await tx.classes.assignVm(
          { clusterId: vm.clusterId, vmid: vm.vmid, personId: person.id, classId: null, role: 'student' },
          Date.now(),
        );
      }
    }
  });
  const samples = [];
  for (let q = 0; q < 2100; q++) {
    const t0 = performance.now();
    const result = await inventory.listVms({ user: people[(q * 7919) % people.length] });
    if (q >= 100) samples.push(performance.now() - t0);
    if (result.vms.length !== 3) throw new Error(`expected 3 VMs, got ${result.vms.length}`);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length * 0.99)];
}
const p99 = await listVmsP99(store);
let pgP99 = 'skipped';
const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
try {
  await admin.connect();
  const name = `lab_bench_sync_${process.pid}`;
  await admin.query(`create database ${name}`);
  try {
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const pgStore = await openStore(url.toString());
    try {
      // The same inventory, cluster by cluster, and the same sync states (listVms reads them).
      for (const clusterId of ids)
        await pgStore.inventory.upsertMany(
          await store.inventory.list({ clusterId, includeTemplates: true, includeGone: true }),
        );
      for (const state of await store.sync.listStates()) await pgStore.sync.saveState(state);
      await sql`analyze`.execute(pgStore.db);
      pgP99 = await listVmsP99(pgStore);
    } finally {
      await pgStore.close();
    }
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
  }
} catch (error) {
  console.log(`postgres skipped: ${error.message}`);
} finally {
  await admin.end().catch(() => undefined);
}
const naive = await call('naive');

await scheduler.stop();
await store.close();
await Promise.all([...apis, ...schedulerApis].map((a) => a.close()));
await call('close');
rmSync(dir, { recursive: true, force: true });

console.log(`${total} VMs over ${CLUSTERS} clusters, ${running} running; SQLite store; simulators in a child process`);
console.log(`initial full sync: ${initial.requests} requests, ${initial.ms.toFixed(0)} ms`);
console.log(
  `after ${changedVms} VMs changed — steady full sync: ${steady.requests} requests (${(steady.requests / CLUSTERS).toFixed(1)} per cluster incl. changed VMs; target ≤ 3 per cluster + ${changedVms} changed), ${steady.ms.toFixed(0)} ms; quick sync: ${quick.requests} requests, ${quick.ms.toFixed(0)} ms`,
);
console.log(
  `class scheduler: ${ticks} steady ticks over ${scheduledVms} VMs in 20 classes (10 in session, 10 idle policies, 5 quotas): ${schedulerSteadyRequests} PVE requests (${aloneAtSims} at the simulators for the tick alone), ${actionsTaken.length} actions; its first tick found ${sessionVmsFound} session VMs running already`,
);
console.log(
  `syncing process RSS: ${mb(rssBeforeSteady)} MiB before the steady sync, ${mb(rssAfterSteady)} MiB after it, peak ${mb(peakRss)} MiB`,
);
console.log(
  `naive per-node/per-VM walk: ${naive} requests for one full sync; listVms p99 ${p99.toFixed(3)} ms on SQLite, ${typeof pgP99 === 'number' ? `${pgP99.toFixed(3)} ms` : pgP99} on PostgreSQL (student, ${total} rows)`,
);
console.log(
  JSON.stringify({
    bench: 'sync',
    vms: total,
    clusters: CLUSTERS,
    initial_full_sync_requests: initial.requests,
    full_sync_requests: steady.requests,
    changed_vms: changedVms,
    full_sync_request_budget: 3 * CLUSTERS + changedVms,
    quick_sync_requests: quick.requests,
    initial_full_sync_ms: Math.round(initial.ms),
    full_sync_ms: Math.round(steady.ms),
    quick_sync_ms: Math.round(quick.ms),
    quick_sync_alone_ms: Math.round(quickAlone.ms),
    quick_sync_cpu_ms: Math.round((quickCpu.user + quickCpu.system) / 1000),
    rss_steady_mb: mb(rssAfterSteady),
    rss_peak_mb: mb(peakRss),
    scheduler_ticks: ticks,
    scheduler_vms: scheduledVms,
    scheduler_requests: schedulerSteadyRequests,
    scheduler_requests_per_vm_per_cycle: schedulerSteadyRequests / (ticks * scheduledVms),
    scheduler_actions: actionsTaken.length,
    scheduler_session_vms_found_running: sessionVmsFound,
    read_p99_ms: Number(p99.toFixed(3)),
    read_p99_postgres_ms: typeof pgP99 === 'number' ? Number(pgP99.toFixed(3)) : pgP99,
    naive_full_sync_requests: naive,
  }),
);

// Deploys classes with the realistic (unscaled) timing model, run time-scaled, and compares each
// with the critical path the simulator's capacity model allows (see bench/README.md):
// - `school`: one 30-student class, three ways side by side in one run: ours (the DeploymentEngine),
//   the seeds' sequential loop (one clone at a time), and a Terraform-like naive parallel apply
//   (10 resources at once, `nextid` without reservation, no per-storage limit, retry on lock errors);
// - `ceph`: one 30-student class on shared Ceph-like storage, where students may spread over nodes;
// - `term`: the start of term, three 30-student classes deployed at once on `school`;
// - `firstday`, `firstday-ceph`: the first day of term, 20 classes (`c01`…`c20`) × 30 students at
//   once on 10 nodes (local lvm-thin, or one Ceph pool), the same three ways; the sequential loop
//   runs on a sample of classes and is extrapolated (`BENCH_FIRSTDAY_SEQUENTIAL_CLASSES`, default 2;
//   set it to 20 to measure it whole).
// `BENCH_DEPLOY_SCENARIOS=school,ceph,term,firstday,firstday-ceph` picks scenarios (default: all),
// `BENCH_DEPLOY_WAYS=ours,sequential,terraform` the ways for `school` (ours always runs there) and `firstday*`. `BENCH_QUICK=1`:
// 5 students a class at time scale ×400, `firstday*` 2 classes × 3 students (`BENCH_DEPLOY_STUDENTS`,
// `BENCH_FIRSTDAY_CLASSES`, `BENCH_FIRSTDAY_STUDENTS`, `BENCH_TIME_SCALE` override).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog } from '@lab/proxmox-sdk';
import { PveHttpError, PveRefusedError, PveTaskFailedError } from '@lab/proxmox-sdk/errors';
import { waitForTask } from '@lab/proxmox-sdk/pve';
import { openStore } from '@lab/proxmox-store';
import { describeBound, lowerBoundMs } from './deploy-lower-bound.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const STUDENTS = Number(process.env.BENCH_DEPLOY_STUDENTS ?? (QUICK ? 5 : 30));
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? (QUICK ? 400 : 10));
const FIRSTDAY_CLASSES = Number(process.env.BENCH_FIRSTDAY_CLASSES ?? (QUICK ? 2 : 20));
const FIRSTDAY_STUDENTS = Number(process.env.BENCH_FIRSTDAY_STUDENTS ?? (QUICK ? 3 : 30));
const FIRSTDAY_SEQUENTIAL_CLASSES = Math.min(
  FIRSTDAY_CLASSES,
  Number(process.env.BENCH_FIRSTDAY_SEQUENTIAL_CLASSES ?? (QUICK ? FIRSTDAY_CLASSES : 2)),
);
const WAYS = (process.env.BENCH_DEPLOY_WAYS ?? 'ours,sequential,terraform').split(',');
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-deploy-'));

/** Counts what the cluster refused, as the client saw it: failed requests, VMID conflicts, lock timeouts. */
function outcomeCounter() {
  const c = { failedRequests: 0, vmidConflicts: 0, lockTimeouts: 0 };
  /** Failed requests by method, endpoint and status (printed with `BENCH_DEPLOY_TRACE=1`). */
  const failedBy = {};
  return {
    c,
    failedBy,
    observer: {
      pveRequest: (r) => {
        if (r.status !== null && r.status < 400) return;
        c.failedRequests++;
        const key = `${r.method} ${r.endpoint} ${r.status ?? r.errorCode}`;
        failedBy[key] = (failedBy[key] ?? 0) + 1;
      },
    },
    /** A failed task or refused request: classify its message. */
    failed(text, countRequest) {
      if (countRequest) c.failedRequests++;
      if (/unable to create VM \d+|lock-\d+\.conf/.test(text)) c.vmidConflicts++;
      else if (/got timeout|lock request timeout|cfs-lock/.test(text)) c.lockTimeouts++;
    },
  };
}

const twoCopies = [
  { node: 'pve1', vmid: 9000 },
  { node: 'pve2', vmid: 9100 },
];
const csIds = (n) => Array.from({ length: n }, (_, c) => `cs${101 + c}`);
const firstdayIds = (n) => Array.from({ length: n }, (_, c) => `c${String(c + 1).padStart(2, '0')}`);
const SCENARIOS = {
  school: { preset: 'school', classIds: csIds(1), students: STUDENTS, mappings: twoCopies },
  ceph: { preset: 'ceph', classIds: csIds(1), students: STUDENTS, mappings: [{ node: 'pve1', vmid: 9000 }] },
  term: { preset: 'school', classIds: csIds(3), students: STUDENTS, mappings: twoCopies },
  firstday: {
    preset: 'firstday',
    classIds: firstdayIds(FIRSTDAY_CLASSES),
    students: FIRSTDAY_STUDENTS,
    mappings: twoCopies,
  },
  'firstday-ceph': {
    preset: 'firstday-ceph',
    classIds: firstdayIds(FIRSTDAY_CLASSES),
    students: FIRSTDAY_STUDENTS,
    mappings: [{ node: 'pve1', vmid: 9000 }],
  },
};

async function setup(label, scenario) {
  const sim = await startPveSim({ scenario: scenario.preset, timeScale: TIME_SCALE, seed: 1 });
  const store = await openStore(`sqlite:${join(dir, `${label}.db`)}`);
  const counter = outcomeCounter();
  const api = new ProxmoxClient({
    clusterId: 'school',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
    observer: counter.observer,
  });
  const clusters = { get: () => api, ids: () => ['school'] };
  const catalog = new TemplateCatalog({ store, clusters });
  await catalog.create({
    name: 'ubuntu',
    memory: 2048,
    cores: 2,
    mappings: scenario.mappings.map((m) => ({ clusterId: 'school', ...m })),
  });
  for (const classId of scenario.classIds) {
    const teacher = await store.classes.createPerson(
      { username: `teacher-${classId}`, displayName: 'T', role: 'teacher' },
      Date.now(),
    );
    await store.classes.createClass({ id: classId, name: classId, templateId: null, ownerId: teacher.id }, Date.now());
    for (let i = 0; i < scenario.students; i++) {
      const p = await store.classes.createPerson(
        { username: `${classId}-s${String(i).padStart(2, '0')}`, displayName: `S${i}`, role: 'student' },
        Date.now(),
      );
      await store.classes.addMember({ classId, personId: p.id, role: 'student' });
    }
  }
  // Poll every 0.2 model seconds (20 ms at ×10): our real-time overheads count ×10, see bench/README.md.
  const pollIntervalMs = Math.max(5, 200 / TIME_SCALE);
  const close = async () => {
    await store.close();
    await api.close();
    await sim.close();
  };
  return { sim, store, api, clusters, catalog, counter, pollIntervalMs, close };
}

const TRACE = process.env.BENCH_DEPLOY_TRACE === '1';
const fmt1 = (ms) => (ms / 1000).toFixed(1);

/**
 * Measures, on the model, how long each storage instance's allocation lock was held and how long
 * any copy onto it ran, by wrapping the simulator's lock and bandwidth pool: the critical resources
 * as this run's simulator really served them (its timers fire late on a loaded machine).
 */
function storageTrace(sim) {
  const seen = new Map(); // key → { lock, copy, lastLock, lastCopy }
  const entry = (key) => {
    if (!seen.has(key)) seen.set(key, { lock: 0, copy: 0, lastLock: 0, lastCopy: 0 });
    return seen.get(key);
  };
  const undo = [];
  for (const [key, store] of sim.state.storages) {
    const { lock, bandwidth } = store;
    const acquire = lock.acquire;
    lock.acquire = async function (...args) {
      const release = await acquire.apply(this, args);
      const from = sim.time.now();
      return () => {
        const e = entry(key);
        e.lock += sim.time.now() - from;
        e.lastLock = sim.time.now();
        release();
      };
    };
    const copy = bandwidth.copy;
    let active = 0;
    let since = 0;
    bandwidth.copy = async function (...args) {
      if (active++ === 0) since = sim.time.now();
      try {
        return await copy.apply(this, args);
      } finally {
        if (--active === 0) {
          const e = entry(key);
          e.copy += sim.time.now() - since;
          e.lastCopy = sim.time.now();
        }
      }
    };
    undo.push(() => {
      lock.acquire = acquire;
      bandwidth.copy = copy;
    });
  }
  return {
    /** The busiest storage: its lock's and its copies' busy model ms, and when each was last busy. */
    stop(t0) {
      for (const u of undo) u();
      const [key, s] = [...seen].sort((a, b) => Math.max(b[1].lock, b[1].copy) - Math.max(a[1].lock, a[1].copy))[0] ?? [
        '-',
        { lock: 0, copy: 0, lastLock: t0, lastCopy: t0 },
      ];
      return {
        storage: key,
        lockBusyMs: s.lock,
        copyBusyMs: s.copy,
        lockLastMs: s.lastLock - t0,
        copyLastMs: s.lastCopy - t0,
      };
    },
  };
}

/** The VMs of the scenario's classes on the simulator (teachers, bases and students). */
const classVms = (sim, scenario) =>
  [...sim.state.guests.values()].filter((g) => scenario.classIds.some((c) => (g.config.name ?? '').startsWith(`${c}-`)))
    .length;

/**
 * Plans every class of the scenario, then applies them all at once (one engine, as one bot process
 * does); with `sequential`, one class after the other (the seeds' loop, with every limit at 1).
 */
async function deploy(label, scenario, { limits, sequential = false } = {}) {
  const { sim, store, clusters, catalog, counter, pollIntervalMs, close } = await setup(label, scenario);
  // `timeScale`: a task's first status read waits its expected duration on the model, scaled.
  const engine = new DeploymentEngine({
    store,
    clusters,
    catalog,
    pollIntervalMs,
    timeScale: TIME_SCALE,
    ...(limits ? { limits } : {}),
  });
  const plans = [];
  for (const classId of scenario.classIds)
    plans.push(await engine.plan({ classId, count: scenario.students, template: 'ubuntu' }));
  sim.requests.reset();
  const t0 = sim.time.now();
  const trace = storageTrace(sim);
  const cpu0 = process.cpuUsage();
  const summaries = [];
  if (sequential) for (const plan of plans) summaries.push(await (await engine.apply(plan)).done);
  else
    summaries.push(
      ...(await Promise.all((await Promise.all(plans.map((plan) => engine.apply(plan)))).map((h) => h.done))),
    );
  const wallModelMs = sim.time.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const requests = sim.requests.total;
  const endpoints = sim.requests.snapshot();
  const vms = classVms(sim, scenario);
  const busiest = trace.stop(t0);
  if (TRACE) {
    console.log(
      `${label}: this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s over ${(wallModelMs / TIME_SCALE / 1000).toFixed(1)} s real; requests ${JSON.stringify(Object.fromEntries(Object.entries(endpoints).slice(0, 8)))}`,
    );
    if (counter.c.failedRequests > 0) console.log(`${label}: failed requests ${JSON.stringify(counter.failedBy)}`);
    console.log(
      `${label}: ${busiest.storage} lock held ${fmt1(busiest.lockBusyMs)} s (last released at ${fmt1(busiest.lockLastMs)} s), copying ${fmt1(busiest.copyBusyMs)} s (last at ${fmt1(busiest.copyLastMs)} s)`,
    );
  }
  await close();
  for (const summary of summaries)
    if (summary.status !== 'done')
      throw new Error(`${label} deployment ended ${summary.status}: ${JSON.stringify(summary.failed)}`);
  return {
    plans,
    plan: plans[0],
    wallModelMs,
    requests,
    created: summaries.reduce((n, x) => n + x.created, 0),
    vms,
    busiest,
    ...counter.c,
  };
}

/** The scenario's plans, on a fresh simulator, without applying them (when ours does not run). */
async function planOnly(label, scenario) {
  const { store, clusters, catalog, close } = await setup(`${label}-plan`, scenario);
  const engine = new DeploymentEngine({ store, clusters, catalog });
  const plans = [];
  for (const classId of scenario.classIds)
    plans.push(await engine.plan({ classId, count: scenario.students, template: 'ubuntu' }));
  await close();
  return plans;
}

/**
 * The Terraform-like apply: one resource per VM, 10 at once (`-parallelism=10`), each asking
 * `GET /cluster/nextid` and cloning with that id — no reservation, so two resources may get the
 * same id — with no per-storage limit, retrying (with backoff) when PVE answers with a lock or
 * id error. Each class's students depend on its base template, as `depends_on` would make them;
 * the ten slots go, in the plans' order, to the resources whose dependencies are done.
 */
async function naiveParallel(scenario, plans) {
  const { sim, api, counter, pollIntervalMs, close } = await setup(`naive-${scenario.preset}`, scenario);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const clone = async (source, name, full, target) => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const newid = Number(await api.get('/cluster/nextid'));
      try {
        const upid = await api.post(`/nodes/${source.node}/qemu/${source.vmid}/clone`, {
          newid,
          name,
          full: full ? 1 : 0,
          ...(target && target !== source.node ? { target } : {}),
        });
        await waitForTask(api, upid, { pollIntervalMs, maxPollIntervalMs: pollIntervalMs, timeoutMs: 3_600_000 });
        return newid;
      } catch (error) {
        if (error instanceof PveHttpError) counter.failed(error.pveMessage, false);
        else if (error instanceof PveTaskFailedError) counter.failed(error.exitstatus, true);
        // A refusal PVE knows (a lock timeout, a VMID taken) in the task: the same error whether
        // PVE refused at once or in the task, so its text says which.
        else if (error instanceof PveRefusedError) counter.failed(error.pveMessage, error.upid !== undefined);
        else throw error;
        await sleep((Math.min(2000, 50 * 2 ** attempt) / TIME_SCALE) * 10);
      }
    }
    throw new Error(`${name}: gave up after 20 attempts`);
  };
  const makeBase = async (plan) => {
    const vmid = await clone(plan.source, plan.base.name, false);
    await api.post(`/nodes/${plan.source.node}/qemu/${vmid}/template`);
    await sleep(0);
    // Converting is a task on real PVE; wait until the simulator reports it a template.
    while (sim.state.guests.get(vmid)?.config.template !== '1') await sleep(pollIntervalMs);
    return { node: plan.source.node, vmid };
  };
  sim.requests.reset();
  const t0 = sim.time.now();
  const trace = storageTrace(sim);
  const bases = new Map(); // class → its base, once made
  const queue = [];
  for (const plan of plans) {
    const classId = plan.spec.classId;
    queue.push({ ready: () => true, run: async () => bases.set(classId, await makeBase(plan)) });
    for (const vm of plan.vms.filter((v) => v.action === 'create' && v.role === 'teacher'))
      queue.push({ ready: () => true, run: () => clone(plan.source, vm.name, true) });
  }
  for (const plan of plans) {
    const classId = plan.spec.classId;
    for (const vm of plan.vms.filter((v) => v.action === 'create' && v.role === 'student'))
      queue.push({
        ready: () => bases.has(classId),
        // A linked clone of a local-storage base stays on its node; on shared storage it goes where the plan put it.
        run: () => clone(bases.get(classId), vm.name, false, plan.storage.shared ? vm.node : undefined),
      });
  }
  const worker = async () => {
    while (queue.length) {
      const i = queue.findIndex((r) => r.ready());
      if (i < 0) {
        await sleep(pollIntervalMs);
        continue;
      }
      await queue.splice(i, 1)[0].run();
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  const wallModelMs = sim.time.now() - t0;
  const busiest = trace.stop(t0);
  const requests = sim.requests.total;
  const vms = classVms(sim, scenario);
  await close();
  return { wallModelMs, requests, vms, busiest, ...counter.c };
}

const wanted = (process.env.BENCH_DEPLOY_SCENARIOS ?? 'school,ceph,term,firstday,firstday-ceph').split(',');
const f1 = (ms) => (ms / 1000).toFixed(1);
/** PVE requests per VM the run created (issue 29's "Lighter on PVE": at most 20). */
const perVm = (r) => Number((r.requests / Math.max(1, r.vms)).toFixed(1));
const pick = (r, bound) => ({
  wall_ms: Math.round(r.wallModelMs),
  ratio: Number((r.wallModelMs / bound.ms).toFixed(3)),
  requests: r.requests,
  requests_per_vm: perVm(r),
  failed_requests: r.failedRequests,
  vmid_conflicts: r.vmidConflicts,
  lock_timeouts: r.lockTimeouts,
  vms: r.vms,
  ...(r.busiest
    ? {
        busiest_storage: r.busiest.storage,
        lock_held_ms: Math.round(r.busiest.lockBusyMs),
        copying_ms: Math.round(r.busiest.copyBusyMs),
        // Against what the simulator's lock and copies really took in this run (late timers included).
        ratio_to_measured: Number((r.wallModelMs / Math.max(r.busiest.lockBusyMs, r.busiest.copyBusyMs, 1)).toFixed(3)),
      }
    : {}),
});
const row = (label, r, bound) =>
  `${label.padEnd(28)} ${f1(r.wallModelMs).padStart(7)} s  ×${(r.wallModelMs / bound.ms).toFixed(3).padEnd(6)} ${String(r.requests).padStart(6)} requests (${String(perVm(r)).padStart(5)}/VM)  ${String(r.failedRequests).padStart(4)} failed  ${String(r.vmidConflicts).padStart(3)} VMID conflicts  ${String(r.lockTimeouts).padStart(3)} lock timeouts  ${r.vms} VMs` +
  (r.busiest
    ? `  (${r.busiest.storage}: lock held ${f1(r.busiest.lockBusyMs)} s, copying ${f1(r.busiest.copyBusyMs)} s)`
    : '');
const spread = (plans) =>
  [...new Set(plans.flatMap((p) => p.vms.filter((v) => v.role === 'student').map((v) => v.node)))].sort().join(',');
/** The plans as an apply that cannot copy a base would place them: every student on its base's node. */
const packedPlans = (plans) =>
  plans.map((plan) => ({
    ...plan,
    replicateBaseTo: [],
    vms: plan.vms.map((v) => (v.role === 'student' ? { ...v, node: plan.base.node } : v)),
  }));
const SEQUENTIAL_LIMITS = { global: 1, perNode: 1, perStorage: 1, copiesPerStorage: 1 };
const result = { bench: 'deploy' };
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

if (wanted.includes('school')) {
  const parallel = await deploy('parallel', SCENARIOS.school);
  const bound = lowerBoundMs('school', parallel.plans);
  const sequential = WAYS.includes('sequential')
    ? await deploy('sequential', SCENARIOS.school, { limits: SEQUENTIAL_LIMITS })
    : undefined;
  // The Terraform-like apply cannot copy the base to other nodes: it clones every student on the base
  // node, so its bound is that placement's.
  const packed = packedPlans(parallel.plans);
  const naive = WAYS.includes('terraform') ? await naiveParallel(SCENARIOS.school, packed) : undefined;
  const naiveBound = lowerBoundMs('school', packed);
  console.log(
    `school scenario, ${STUDENTS} students (+ teacher VM + base template), time scale ×${TIME_SCALE}, SQLite store; times on the model; load average ${load()}`,
  );
  console.log(describeBound(bound));
  console.log(row('ours (DeploymentEngine)', parallel, bound));
  if (sequential) console.log(row('seeds: sequential loop', sequential, bound));
  console.log(
    `students on ${spread(parallel.plans)}; base copied to ${parallel.plan.replicateBaseTo.join(', ') || 'no other node'}`,
  );
  if (naive) {
    console.log(row('Terraform-like, 10 at once', naive, naiveBound));
    console.log(`  (its own placement, every student on ${parallel.plan.base.node}: ${describeBound(naiveBound)})`);
  }
  Object.assign(result, {
    vms: parallel.created,
    wall_ms: Math.round(parallel.wallModelMs),
    lower_bound_ms: Math.round(bound.ms),
    ratio: Number((parallel.wallModelMs / bound.ms).toFixed(3)),
    ...(sequential
      ? {
          sequential_ms: Math.round(sequential.wallModelMs),
          speedup_vs_sequential: Number((sequential.wallModelMs / parallel.wallModelMs).toFixed(2)),
        }
      : {}),
    ours: pick(parallel, bound),
    ...(sequential ? { sequential: pick(sequential, bound) } : {}),
    ...(naive ? { terraform_like: { ...pick(naive, naiveBound), lower_bound_ms: Math.round(naiveBound.ms) } } : {}),
    ...(sequential && naive
      ? {
          ours_fastest: parallel.wallModelMs < sequential.wallModelMs && parallel.wallModelMs < naive.wallModelMs,
        }
      : {}),
  });
}
for (const name of ['ceph', 'term'].filter((n) => wanted.includes(n))) {
  const scenario = SCENARIOS[name];
  const ours = await deploy(name, scenario);
  const bound = lowerBoundMs(scenario.preset, ours.plans);
  console.log(
    `${name} scenario (${scenario.preset}), ${scenario.classIds.length} × ${scenario.students} students at once, students on ${spread(ours.plans)}; load average ${load()}`,
  );
  console.log(describeBound(bound));
  console.log(row('ours (DeploymentEngine)', ours, bound));
  result[name] = {
    ...pick(ours, bound),
    lower_bound_ms: Math.round(bound.ms),
    classes: scenario.classIds.length,
    student_nodes: spread(ours.plans).split(',').length,
  };
}
// The first day of term: every class at once, ours beside the seeds' loop (class after class, one
// clone at a time; on a sample of classes, scaled to all of them, unless told to run them all) and
// the Terraform-like apply of every class's resources.
for (const name of ['firstday', 'firstday-ceph'].filter((n) => wanted.includes(n))) {
  const scenario = SCENARIOS[name];
  const classes = scenario.classIds.length;
  const ours = WAYS.includes('ours') ? await deploy(name, scenario) : undefined;
  const plans = ours?.plans ?? (await planOnly(name, scenario));
  const bound = lowerBoundMs(scenario.preset, plans);
  console.log(
    `${name} scenario, ${classes} × ${scenario.students} students at once (+ a teacher VM and a base template each), time scale ×${TIME_SCALE}; students on ${spread(plans)}, teachers on ${[...new Set(plans.flatMap((p) => p.vms.filter((v) => v.role === 'teacher').map((v) => v.node)))].sort().join(',')}; load average ${load()}`,
  );
  console.log(describeBound(bound));
  const out = { lower_bound_ms: Math.round(bound.ms), classes, students: scenario.students };
  if (ours) {
    console.log(row('ours (DeploymentEngine)', ours, bound));
    Object.assign(out, { ...pick(ours, bound), ours: pick(ours, bound) });
  }
  if (WAYS.includes('sequential')) {
    const sample = { ...scenario, classIds: scenario.classIds.slice(0, FIRSTDAY_SEQUENTIAL_CLASSES) };
    const sequential = await deploy(`${name}-sequential`, sample, { limits: SEQUENTIAL_LIMITS, sequential: true });
    if (sample.classIds.length === classes) {
      console.log(row('seeds: sequential loop', sequential, bound));
      out.sequential = pick(sequential, bound);
      out.sequential_ms = out.sequential.wall_ms;
    } else {
      // One class after the other, one clone at a time: the classes are alike, so the time is linear in them.
      const scale = classes / sample.classIds.length;
      const estimated = { ...sequential, wallModelMs: sequential.wallModelMs * scale };
      console.log(
        `${row(`seeds: sequential, ${sample.classIds.length} classes`, sequential, bound)}  (measured on ${sample.classIds.length} of ${classes} classes)`,
      );
      console.log(
        `seeds: sequential, estimated ${f1(estimated.wallModelMs).padStart(7)} s  ×${(estimated.wallModelMs / bound.ms).toFixed(3)}  (${sample.classIds.length} classes measured × ${scale}: one class after the other, so linear in classes)`,
      );
      out.sequential_sample = { ...pick(sequential, bound), classes: sample.classIds.length };
      out.sequential_estimated_ms = Math.round(estimated.wallModelMs);
    }
  }
  if (WAYS.includes('terraform')) {
    // Like on `school`: it cannot copy a base, so every student goes to its base's node.
    const packed = packedPlans(plans);
    const naiveBound = lowerBoundMs(scenario.preset, packed);
    const naive = await naiveParallel(scenario, packed);
    console.log(row('Terraform-like, 10 at once', naive, naiveBound));
    console.log(`  (its own placement, every student on its base's node: ${describeBound(naiveBound)})`);
    out.terraform_like = { ...pick(naive, naiveBound), lower_bound_ms: Math.round(naiveBound.ms) };
  }
  out.load_average = load();
  result[name] = out;
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(result));

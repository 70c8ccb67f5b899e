// Deploys classes with the realistic (unscaled) timing model, run time-scaled, and compares each
// with the critical path the simulator's capacity model allows (see bench/README.md):
// - `school`: one 30-student class, three ways side by side in one run: ours (the DeploymentEngine),
//   the seeds' sequential loop (one clone at a time), and a Terraform-like naive parallel apply
//   (10 resources at once, `nextid` without reservation, no per-storage limit, retry on lock errors);
// - `ceph`: one 30-student class on shared Ceph-like storage, where students may spread over nodes;
// - `term`: the start of term, three 30-student classes deployed at once on `school`.
// `BENCH_DEPLOY_SCENARIOS=school,ceph,term` picks scenarios. `BENCH_QUICK=1`: 5 students a class at
// time scale ×20 (`BENCH_DEPLOY_STUDENTS`, `BENCH_TIME_SCALE` override).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog } from '@lab/proxmox-sdk';
import { PveHttpError, PveRefusedError, PveTaskFailedError } from '@lab/proxmox-sdk/errors';
import { waitForTask } from '@lab/proxmox-sdk/pve';
import { openStore } from '@lab/proxmox-store';
import { describeBound, lowerBoundMs } from './deploy-lower-bound.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const STUDENTS = Number(process.env.BENCH_DEPLOY_STUDENTS ?? (QUICK ? 5 : 30));
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? (QUICK ? 20 : 10));
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-deploy-'));

/** Counts what the cluster refused, as the client saw it: failed requests, VMID conflicts, lock timeouts. */
function outcomeCounter() {
  const c = { failedRequests: 0, vmidConflicts: 0, lockTimeouts: 0 };
  return {
    c,
    observer: {
      pveRequest: (r) => {
        if (r.status === null || r.status >= 400) c.failedRequests++;
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

const SCENARIOS = {
  school: {
    preset: 'school',
    classes: 1,
    mappings: [
      { node: 'pve1', vmid: 9000 },
      { node: 'pve2', vmid: 9100 },
    ],
  },
  ceph: { preset: 'ceph', classes: 1, mappings: [{ node: 'pve1', vmid: 9000 }] },
  term: {
    preset: 'school',
    classes: 3,
    mappings: [
      { node: 'pve1', vmid: 9000 },
      { node: 'pve2', vmid: 9100 },
    ],
  },
};
const classIds = (n) => Array.from({ length: n }, (_, c) => `cs${101 + c}`);

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
  for (const classId of classIds(scenario.classes)) {
    const teacher = await store.classes.createPerson(
      { username: `teacher-${classId}`, displayName: 'T', role: 'teacher' },
      Date.now(),
    );
    await store.classes.createClass({ id: classId, name: classId, templateId: null, ownerId: teacher.id }, Date.now());
    for (let i = 0; i < STUDENTS; i++) {
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

const classVms = (sim) => [...sim.state.guests.values()].filter((g) => /^cs\d+-/.test(g.config.name ?? '')).length;

/** Plans every class of the scenario, then applies them all at once (one engine, as one bot process does). */
async function deploy(label, scenario, limits) {
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
  for (const classId of classIds(scenario.classes))
    plans.push(await engine.plan({ classId, count: STUDENTS, template: 'ubuntu' }));
  sim.requests.reset();
  const t0 = sim.time.now();
  const summaries = await Promise.all((await Promise.all(plans.map((plan) => engine.apply(plan)))).map((h) => h.done));
  const wallModelMs = sim.time.now() - t0;
  const requests = sim.requests.total;
  const vms = classVms(sim);
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
    ...counter.c,
  };
}

/**
 * The Terraform-like apply: one resource per VM, 10 at once (`-parallelism=10`), each asking
 * `GET /cluster/nextid` and cloning with that id — no reservation, so two resources may get the
 * same id — with no per-storage limit, retrying (with backoff) when PVE answers with a lock or
 * id error. Students depend on the base template, as `depends_on` would make them.
 */
async function naiveParallel(plan) {
  const { sim, api, counter, pollIntervalMs, close } = await setup('naive', SCENARIOS.school);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const clone = async (source, name, full) => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const newid = Number(await api.get('/cluster/nextid'));
      try {
        const upid = await api.post(`/nodes/${source.node}/qemu/${source.vmid}/clone`, {
          newid,
          name,
          full: full ? 1 : 0,
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
  sim.requests.reset();
  const t0 = sim.time.now();
  const base = (async () => {
    const vmid = await clone(plan.source, plan.base.name, false);
    await api.post(`/nodes/${plan.source.node}/qemu/${vmid}/template`);
    await sleep(0);
    // Converting is a task on real PVE; wait until the simulator reports it a template.
    while (sim.state.guests.get(vmid)?.config.template !== '1') await sleep(pollIntervalMs);
    return { node: plan.source.node, vmid };
  })();
  const resources = plan.vms.filter((v) => v.action === 'create' && v.role !== 'base');
  const queue = [...resources];
  const worker = async () => {
    for (let vm = queue.shift(); vm; vm = queue.shift()) {
      if (vm.role === 'teacher') await clone(plan.source, vm.name, true);
      else await clone(await base, vm.name, false);
    }
  };
  // The base template takes one of the ten slots while it is being made.
  await Promise.all([base, ...Array.from({ length: 9 }, worker)]);
  await Promise.all(Array.from({ length: 1 }, worker));
  const wallModelMs = sim.time.now() - t0;
  const requests = sim.requests.total;
  const vms = classVms(sim);
  await close();
  return { wallModelMs, requests, vms, ...counter.c };
}

const wanted = (process.env.BENCH_DEPLOY_SCENARIOS ?? 'school,ceph,term').split(',');
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
});
const row = (label, r, bound) =>
  `${label.padEnd(28)} ${f1(r.wallModelMs).padStart(7)} s  ×${(r.wallModelMs / bound.ms).toFixed(3).padEnd(6)} ${String(r.requests).padStart(6)} requests (${String(perVm(r)).padStart(5)}/VM)  ${String(r.failedRequests).padStart(4)} failed  ${String(r.vmidConflicts).padStart(3)} VMID conflicts  ${String(r.lockTimeouts).padStart(3)} lock timeouts  ${r.vms} VMs`;
const spread = (plans) =>
  [...new Set(plans.flatMap((p) => p.vms.filter((v) => v.role === 'student').map((v) => v.node)))].sort().join(',');
const result = { bench: 'deploy' };

if (wanted.includes('school')) {
  const parallel = await deploy('parallel', SCENARIOS.school);
  const bound = lowerBoundMs('school', parallel.plans);
  const sequential = await deploy('sequential', SCENARIOS.school, { global: 1, perNode: 1, perStorage: 1 });
  const naive = await naiveParallel(parallel.plan);
  // The Terraform-like apply cannot copy the base to other nodes: it clones every student on the base
  // node, so its bound is that placement's.
  const packed = {
    ...parallel.plan,
    replicateBaseTo: [],
    vms: parallel.plan.vms.map((v) => (v.role === 'student' ? { ...v, node: parallel.plan.base.node } : v)),
  };
  const naiveBound = lowerBoundMs('school', [packed]);
  console.log(
    `school scenario, ${STUDENTS} students (+ teacher VM + base template), time scale ×${TIME_SCALE}, SQLite store; times on the model`,
  );
  console.log(describeBound(bound));
  console.log(row('ours (DeploymentEngine)', parallel, bound));
  console.log(row('seeds: sequential loop', sequential, bound));
  console.log(
    `students on ${spread(parallel.plans)}; base copied to ${parallel.plan.replicateBaseTo.join(', ') || 'no other node'}`,
  );
  console.log(row('Terraform-like, 10 at once', naive, naiveBound));
  console.log(`  (its own placement, every student on ${parallel.plan.base.node}: ${describeBound(naiveBound)})`);
  Object.assign(result, {
    vms: parallel.created,
    wall_ms: Math.round(parallel.wallModelMs),
    lower_bound_ms: Math.round(bound.ms),
    ratio: Number((parallel.wallModelMs / bound.ms).toFixed(3)),
    sequential_ms: Math.round(sequential.wallModelMs),
    speedup_vs_sequential: Number((sequential.wallModelMs / parallel.wallModelMs).toFixed(2)),
    ours: pick(parallel, bound),
    sequential: pick(sequential, bound),
    terraform_like: { ...pick(naive, naiveBound), lower_bound_ms: Math.round(naiveBound.ms) },
    ours_fastest: parallel.wallModelMs < sequential.wallModelMs && parallel.wallModelMs < naive.wallModelMs,
  });
}
for (const name of ['ceph', 'term'].filter((n) => wanted.includes(n))) {
  const scenario = SCENARIOS[name];
  const ours = await deploy(name, scenario);
  const bound = lowerBoundMs(scenario.preset, ours.plans);
  console.log(
    `${name} scenario (${scenario.preset}), ${scenario.classes} × ${STUDENTS} students at once, students on ${spread(ours.plans)}`,
  );
  console.log(describeBound(bound));
  console.log(row('ours (DeploymentEngine)', ours, bound));
  result[name] = {
    ...pick(ours, bound),
    lower_bound_ms: Math.round(bound.ms),
    classes: scenario.classes,
    student_nodes: spread(ours.plans).split(',').length,
  };
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(result));

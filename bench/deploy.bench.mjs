// Deploys a 30-student class on the `school` scenario with the realistic (unscaled) timing model,
// run time-scaled, three ways side by side in one run: ours (the DeploymentEngine), the seeds'
// sequential loop (one clone at a time), and a Terraform-like naive parallel apply (10 resources at
// once, `nextid` without reservation, no per-storage limit, retry on lock errors). Each is compared
// with the critical path the simulator's capacity model allows (see bench/README.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim, DefaultTimings, presets } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, PveHttpError, PveTaskFailedError, TemplateCatalog, waitForTask } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';

const STUDENTS = 30;
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-deploy-'));

/** Counts what the cluster refused, as the client saw it: failed requests, VMID conflicts, lock timeouts. */
function outcomeCounter() {
  const c = { failedRequests: 0, vmidConflicts: 0, lockTimeouts: 0 };
  return {
    c,
    observer: { pveRequest: (r) => { if (r.status === null || r.status >= 400) c.failedRequests++; } },
    /** A failed task or refused request: classify its message. */
    failed(text, countRequest) {
      if (countRequest) c.failedRequests++;
      if (/unable to create VM \d+|lock-\d+\.conf/.test(text)) c.vmidConflicts++;
      else if (/got timeout|lock request timeout|cfs-lock/.test(text)) c.lockTimeouts++;
    },
  };
}

async function setup(label) {
  const sim = await startPveSim({ scenario: 'school', timeScale: TIME_SCALE, seed: 1 });
  const store = await openStore(`sqlite:${join(dir, `${label}.db`)}`);
  const counter = outcomeCounter();
  const api = new ProxmoxClient({ clusterId: 'school', baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint }, observer: counter.observer });
  const clusters = { get: () => api, ids: () => ['school'] };
  const catalog = new TemplateCatalog({ store, clusters });
  await catalog.create({ name: 'ubuntu', memory: 2048, cores: 2, mappings: [{ clusterId: 'school', node: 'pve1', vmid: 9000 }, { clusterId: 'school', node: 'pve2', vmid: 9100 }] });
  const teacher = await store.classes.createPerson({ username: 'teacher', displayName: 'T', role: 'teacher' }, Date.now());
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: teacher.id }, Date.now());
  for (let i = 0; i < STUDENTS; i++) {
    const p = await store.classes.createPerson({ username: `student${String(i).padStart(2, '0')}`, displayName: `S${i}`, role: 'student' }, Date.now());
    await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
  }
  // Poll every 2 model-seconds' worth of real time: the same cadence a real deployment would use.
  const pollIntervalMs = Math.max(5, 200 / TIME_SCALE);
  const close = async () => {
    await store.close();
    await api.close();
    await sim.close();
  };
  return { sim, store, api, clusters, catalog, counter, pollIntervalMs, close };
}

async function deploy(label, limits) {
  const { sim, store, clusters, catalog, counter, pollIntervalMs, close } = await setup(label);
  const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs, ...(limits ? { limits } : {}) });
  const plan = await engine.plan({ classId: 'cs101', count: STUDENTS, template: 'ubuntu' });
  sim.requests.reset();
  const t0 = sim.time.now();
  const summary = await (await engine.apply(plan)).done;
  const wallModelMs = sim.time.now() - t0;
  const requests = sim.requests.total;
  const vmids = [...sim.state.guests.values()].filter((g) => /^cs101-/.test(g.config.name ?? '')).length;
  await close();
  if (summary.status !== 'done') throw new Error(`${label} deployment ended ${summary.status}: ${JSON.stringify(summary.failed)}`);
  return { plan, wallModelMs, requests, created: summary.created, vms: vmids, ...counter.c };
}

/**
 * The Terraform-like apply: one resource per VM, 10 at once (`-parallelism=10`), each asking
 * `GET /cluster/nextid` and cloning with that id — no reservation, so two resources may get the
 * same id — with no per-storage limit, retrying (with backoff) when PVE answers with a lock or
 * id error. Students depend on the base template, as `depends_on` would make them.
 */
async function naiveParallel(plan) {
  const { sim, api, counter, pollIntervalMs, close } = await setup('naive');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const clone = async (source, name, full) => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const newid = Number(await api.get('/cluster/nextid'));
      try {
        const upid = await api.post(`/nodes/${source.node}/qemu/${source.vmid}/clone`, { newid, name, full: full ? 1 : 0 });
        await waitForTask(api, upid, { pollIntervalMs, maxPollIntervalMs: pollIntervalMs, timeoutMs: 3_600_000 });
        return newid;
      } catch (error) {
        if (error instanceof PveHttpError) counter.failed(error.pveMessage, false);
        else if (error instanceof PveTaskFailedError) counter.failed(error.exitstatus, true);
        else throw error;
        await sleep(Math.min(2000, 50 * 2 ** attempt) / TIME_SCALE * 10);
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
  const vms = [...sim.state.guests.values()].filter((g) => /^cs101-/.test(g.config.name ?? '')).length;
  await close();
  return { wallModelMs, requests, vms, ...counter.c };
}

/** The critical path the capacity model allows, in model ms (derivation in bench/README.md). */
function lowerBoundMs(plan) {
  const t = { ...DefaultTimings, ...presets.school.timings };
  const storage = presets.school.storages.find((s) => s.id === plan.storage.id);
  const templateBytes = 32 * 1024 ** 3;
  const copySeconds = templateBytes / (storage.throughputMBps * 1024 * 1024);
  const cloudinit = 1; // every clone of the template also copies its cloud-init drive: one more storage allocation
  const teacherChain = t.allocateSeconds + copySeconds + cloudinit * t.allocateSeconds;
  const baseChain = t.linkedCloneSeconds + cloudinit * t.allocateSeconds + t.templateSeconds;
  const perStorage = new Map();
  for (const vm of plan.vms.filter((v) => v.role === 'student' && v.action === 'create')) {
    const key = plan.storage.shared ? plan.storage.id : `${vm.node}/${plan.storage.id}`;
    perStorage.set(key, (perStorage.get(key) ?? 0) + t.linkedCloneSeconds + cloudinit * t.allocateSeconds);
  }
  const studentChain = baseChain + Math.max(0, ...perStorage.values());
  return { ms: Math.max(teacherChain, studentChain) * 1000, teacherChain, studentChain };
}

const parallel = await deploy('parallel');
const bound = lowerBoundMs(parallel.plan);
const sequential = await deploy('sequential', { global: 1, perNode: 1, perStorage: 1 });
const naive = await naiveParallel(parallel.plan);
rmSync(dir, { recursive: true, force: true });
const vms = parallel.created;
const ratio = parallel.wallModelMs / bound.ms;
const row = (label, r) => `${label.padEnd(28)} ${(r.wallModelMs / 1000).toFixed(1).padStart(7)} s  ×${(r.wallModelMs / bound.ms).toFixed(2).padEnd(5)} ${String(r.requests).padStart(6)} requests  ${String(r.failedRequests).padStart(4)} failed  ${String(r.vmidConflicts).padStart(3)} VMID conflicts  ${String(r.lockTimeouts).padStart(3)} lock timeouts  ${r.vms} VMs`;
console.log(`school scenario, ${STUDENTS} students (+ teacher VM + base template), time scale ×${TIME_SCALE}, SQLite store; times on the model`);
console.log(`lower bound ${(bound.ms / 1000).toFixed(1)} s = max(teacher full clone ${bound.teacherChain.toFixed(1)} s, base + students on the busiest storage ${bound.studentChain.toFixed(1)} s)`);
console.log(row('ours (DeploymentEngine)', parallel));
console.log(row('seeds: sequential loop', sequential));
console.log(row('Terraform-like, 10 at once', naive));
const pick = (r) => ({ wall_ms: Math.round(r.wallModelMs), ratio: Number((r.wallModelMs / bound.ms).toFixed(3)), requests: r.requests, failed_requests: r.failedRequests, vmid_conflicts: r.vmidConflicts, lock_timeouts: r.lockTimeouts, vms: r.vms });
console.log(JSON.stringify({
  bench: 'deploy',
  vms,
  wall_ms: Math.round(parallel.wallModelMs),
  lower_bound_ms: Math.round(bound.ms),
  ratio: Number(ratio.toFixed(3)),
  sequential_ms: Math.round(sequential.wallModelMs),
  speedup_vs_sequential: Number((sequential.wallModelMs / parallel.wallModelMs).toFixed(2)),
  ours: pick(parallel),
  sequential: pick(sequential),
  terraform_like: pick(naive),
  ours_fastest: parallel.wallModelMs < sequential.wallModelMs && parallel.wallModelMs < naive.wallModelMs,
}));

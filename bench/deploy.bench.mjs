// Deploys a 30-student class on the `school` scenario with the realistic (unscaled) timing model,
// run time-scaled, and compares the wall time with the critical path the simulator's capacity
// model allows (see bench/README.md) and with the same deployment done one clone at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim, DefaultTimings, presets } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';

const STUDENTS = 30;
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-deploy-'));

async function deploy(label, limits) {
  const sim = await startPveSim({ scenario: 'school', timeScale: TIME_SCALE, seed: 1 });
  const store = await openStore(`sqlite:${join(dir, `${label}.db`)}`);
  const api = new ProxmoxClient({ clusterId: 'school', baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint } });
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
  const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: Math.max(5, 200 / TIME_SCALE), ...(limits ? { limits } : {}) });
  const plan = await engine.plan({ classId: 'cs101', count: STUDENTS, template: 'ubuntu' });
  sim.requests.reset();
  const t0 = sim.time.now();
  const summary = await (await engine.apply(plan)).done;
  const wallModelMs = sim.time.now() - t0;
  const requests = sim.requests.total;
  await store.close();
  await api.close();
  await sim.close();
  if (summary.status !== 'done') throw new Error(`${label} deployment ended ${summary.status}: ${JSON.stringify(summary.failed)}`);
  return { plan, wallModelMs, requests, created: summary.created };
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
rmSync(dir, { recursive: true, force: true });
const vms = parallel.created;
const ratio = parallel.wallModelMs / bound.ms;
console.log(`school scenario, ${STUDENTS} students (+ teacher VM + base template), time scale ×${TIME_SCALE}, SQLite store`);
console.log(`parallel:   ${(parallel.wallModelMs / 1000).toFixed(1)} s on the model, ${parallel.requests} API requests`);
console.log(`lower bound ${(bound.ms / 1000).toFixed(1)} s = max(teacher full clone ${bound.teacherChain.toFixed(1)} s, base + students on the busiest storage ${bound.studentChain.toFixed(1)} s); ratio ${ratio.toFixed(3)}`);
console.log(`sequential: ${(sequential.wallModelMs / 1000).toFixed(1)} s on the model (one clone at a time); speed-up ×${(sequential.wallModelMs / parallel.wallModelMs).toFixed(2)}`);
console.log(JSON.stringify({
  bench: 'deploy',
  vms,
  wall_ms: Math.round(parallel.wallModelMs),
  lower_bound_ms: Math.round(bound.ms),
  ratio: Number(ratio.toFixed(3)),
  sequential_ms: Math.round(sequential.wallModelMs),
  speedup_vs_sequential: Number((sequential.wallModelMs / parallel.wallModelMs).toFixed(2)),
}));

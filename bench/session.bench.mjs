// Session load (issue 29): deploys `school` (one 30-student class) and `term` (three 30-student
// classes at once on `school`) with our planner, then, for each class, the share of the class's
// memory and vCPUs each node carries when every student VM of the class runs at once (from the
// simulator's state after the deploy), against an even split over the nodes the class may use
// (online nodes with the template's storage; no pin here). Prints max node share ÷ even share, and
// each deploy against the lower bound that counts the copies of the base (bench/README.md).
// `BENCH_QUICK=1`: 5 students a class at time scale ×400 (`BENCH_SESSION_STUDENTS`, `BENCH_TIME_SCALE`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import { describeBound, lowerBoundMs } from './deploy-lower-bound.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const STUDENTS = Number(process.env.BENCH_SESSION_STUDENTS ?? (QUICK ? 5 : 30));
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? (QUICK ? 400 : 10));
const LIMIT = 1.25;
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-session-'));
const classIds = (n) => Array.from({ length: n }, (_, c) => `cs${101 + c}`);

async function deploy(label, classes) {
  const sim = await startPveSim({ scenario: 'school', timeScale: TIME_SCALE, seed: 1 });
  const store = await openStore(`sqlite:${join(dir, `${label}.db`)}`);
  const api = new ProxmoxClient({
    clusterId: 'school',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
  });
  const clusters = { get: () => api, ids: () => ['school'] };
  const catalog = new TemplateCatalog({ store, clusters });
  await catalog.create({
    name: 'ubuntu',
    memory: 2048,
    cores: 2,
    mappings: [
      { clusterId: 'school', node: 'pve1', vmid: 9000 },
      { clusterId: 'school', node: 'pve2', vmid: 9100 },
    ],
  });
  for (const classId of classIds(classes)) {
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
  // What the class may use, read from the simulator before the deploy, not from the planner.
  const template = sim.state.guests.get(9000);
  const storageId = template.config.scsi0.split(':')[0];
  const mayUse = [...sim.state.nodes.values()]
    .filter((n) => n.online && sim.state.storageOn(n.name, storageId))
    .map((n) => n.name)
    .sort();
  const pollIntervalMs = Math.max(5, 200 / TIME_SCALE);
  const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs });
  const plans = [];
  for (const classId of classIds(classes))
    plans.push(await engine.plan({ classId, count: STUDENTS, template: 'ubuntu' }));
  const t0 = sim.time.now();
  const summaries = await Promise.all((await Promise.all(plans.map((plan) => engine.apply(plan)))).map((h) => h.done));
  const wallModelMs = sim.time.now() - t0;
  for (const s of summaries)
    if (s.status !== 'done') throw new Error(`${label}: deployment ended ${s.status}: ${JSON.stringify(s.failed)}`);
  // Every student VM of each class, as the simulator has it: node, memory, cores.
  const shares = classIds(classes).map((classId) => {
    const vms = [...sim.state.guests.values()].filter(
      (g) =>
        (g.config.name ?? '').startsWith(`${classId}-`) &&
        ![`${classId}-teacher`, `${classId}-base`].includes(g.config.name) &&
        g.config.template !== '1',
    );
    const per = new Map();
    for (const g of vms) {
      const x = per.get(g.node) ?? { vms: 0, mem: 0, cpu: 0 };
      per.set(g.node, {
        vms: x.vms + 1,
        mem: x.mem + Number(g.config.memory ?? 0),
        cpu: x.cpu + Number(g.config.cores ?? 1) * Number(g.config.sockets ?? 1),
      });
    }
    const total = [...per.values()].reduce((a, x) => ({ mem: a.mem + x.mem, cpu: a.cpu + x.cpu }), { mem: 0, cpu: 0 });
    const even = 1 / mayUse.length;
    const memShare = Math.max(...[...per.values()].map((x) => x.mem / total.mem));
    const cpuShare = Math.max(...[...per.values()].map((x) => x.cpu / total.cpu));
    const plan = plans.find((p) => p.spec.classId === classId);
    return {
      classId,
      vms: vms.length,
      perNode: Object.fromEntries([...per.entries()].sort().map(([n, x]) => [n, x.vms])),
      memRatio: memShare / even,
      cpuRatio: cpuShare / even,
      replicas: plan.replicateBaseTo,
      plannerNodes: plan.classNodes,
      notes: plan.notes,
    };
  });
  await store.close();
  await api.close();
  await sim.close();
  return { plans, shares, mayUse, wallModelMs };
}

const r3 = (x) => Number(x.toFixed(3));
const result = { bench: 'session', students: STUDENTS, limit: LIMIT };
let worst = 0;
for (const [name, classes] of [
  ['school', 1],
  ['term', 3],
]) {
  const run = await deploy(name, classes);
  const bound = lowerBoundMs('school', run.plans);
  console.log(
    `${name}: ${classes} × ${STUDENTS} students on the school preset, time scale ×${TIME_SCALE}; nodes a class may use: ${run.mayUse.join(', ')}`,
  );
  for (const s of run.shares) {
    const agree =
      s.plannerNodes.join(',') === run.mayUse.join(',') ? '' : ` (planner's list: ${s.plannerNodes.join(', ')})`;
    console.log(
      `  ${s.classId}: ${s.vms} student VMs ${JSON.stringify(s.perNode)}${agree}; max node share ÷ even share: memory ×${s.memRatio.toFixed(3)}, vCPUs ×${s.cpuRatio.toFixed(3)} (limit ×${LIMIT}); base copied to ${s.replicas.join(', ') || 'none'}`,
    );
    for (const note of s.notes.filter((n) => n.startsWith('base replicated'))) console.log(`    plan: ${note}`);
    worst = Math.max(worst, s.memRatio, s.cpuRatio);
  }
  console.log(`  ${describeBound(bound)}`);
  console.log(
    `  deploy ${(run.wallModelMs / 1000).toFixed(1)} s on the model, ×${(run.wallModelMs / bound.ms).toFixed(3)} of the lower bound`,
  );
  result[name] = {
    max_share_ratio: r3(Math.max(...run.shares.flatMap((s) => [s.memRatio, s.cpuRatio]))),
    classes: run.shares.map((s) => ({
      class: s.classId,
      mem_ratio: r3(s.memRatio),
      cpu_ratio: r3(s.cpuRatio),
      per_node: s.perNode,
      replicas: s.replicas,
    })),
    nodes: run.mayUse.length,
    wall_ms: Math.round(run.wallModelMs),
    lower_bound_ms: Math.round(bound.ms),
    deploy_ratio: r3(run.wallModelMs / bound.ms),
  };
}
result.within_limit = worst <= LIMIT;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(result));

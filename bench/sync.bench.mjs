// Sync cost at scale: 10,000 VMs over 3 simulated clusters (about half running). Initial full sync,
// then 1 % of the VMs change (start, stop, create, delete, retag), then one steady-state full sync
// and one quick sync. Requests are counted by the simulators. `naive_full_sync_requests` is what a
// per-node, per-VM walk (the seeds' approach) sends for the same sync: see bench/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPveSim, presets } from '@lab/pve-sim';
import { InventoryService, ProxmoxClient, SyncEngine, createTcpPortProbe } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';

const CLUSTERS = 3;
const PER_CLUSTER = [3334, 3333, 3333];
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-sync-'));
const sims = [];
const apis = [];
for (let i = 0; i < CLUSTERS; i++) {
  const scenario = structuredClone(presets.large);
  scenario.cluster = `lab${i + 1}`;
  scenario.guests = [];
  scenario.generate = { ...scenario.generate, count: PER_CLUSTER[i], vmidStart: 10_000, runningFraction: 0.5 };
  const sim = await startPveSim({ scenario, timeScale: 200, seed: i + 1 });
  sims.push(sim);
  apis.push(new ProxmoxClient({ clusterId: `lab${i + 1}`, baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint }, maxConcurrentRequests: 16 }));
}
const clusters = { get: (id) => apis[Number(id.slice(3)) - 1], ids: () => apis.map((_, i) => `lab${i + 1}`) };
const store = await openStore(`sqlite:${join(dir, 'sync.db')}`);
const engine = new SyncEngine({ store, clusters, probe: createTcpPortProbe(), probeTimeoutMs: 300, detailConcurrency: 16, probeConcurrency: 64 });
const requests = () => sims.reduce((n, s) => n + s.requests.total, 0);
const reset = () => sims.forEach((s) => s.requests.reset());

async function timed(fn) {
  reset();
  const t0 = performance.now();
  const reports = await fn();
  if (reports.some((r) => !r.ok)) throw new Error(`sync failed: ${JSON.stringify(reports.filter((r) => !r.ok))}`);
  return { ms: performance.now() - t0, requests: requests(), reports };
}

const initial = await timed(() => engine.fullSync());
const total = await store.inventory.count();
const running = (await store.inventory.list({ status: 'running' })).length;

// 1 % of the VMs change: per cluster 10 started, 10 stopped, 5 created, 4 deleted, 4 retagged.
let changedVms = 0;
for (const sim of sims) {
  const guests = [...sim.state.guests.values()].filter((g) => g.config.template !== '1');
  const stopped = guests.filter((g) => g.status === 'stopped');
  const up = guests.filter((g) => g.status === 'running');
  const tasks = [];
  for (const g of stopped.slice(0, 10)) tasks.push(sim.ops.power(g.node, g.vmid, g.type, 'start', 'root@pam'));
  for (const g of up.slice(0, 10)) tasks.push(sim.ops.power(g.node, g.vmid, g.type, 'stop', 'root@pam'));
  for (let k = 0; k < 5; k++) tasks.push(sim.ops.create(`pve${k + 1}`, 90_000 + k, 'qemu', { name: `new-${k}`, memory: 1024, cores: 1, ostype: 'l26', agent: '1', scsi0: 'local-lvm:8' }, 'root@pam'));
  for (const g of stopped.slice(10, 14)) tasks.push(sim.ops.destroy(g.node, g.vmid, g.type, 'root@pam'));
  for (const g of stopped.slice(14, 18)) g.config.tags = 'retagged';
  changedVms += 10 + 10 + 5 + 4 + 4;
  while (tasks.some((t) => t.status === 'running')) await new Promise((r) => setTimeout(r, 10));
}
const steady = await timed(() => engine.fullSync());
const quick = await timed(() => engine.quickSync());

// Reads: "the VMs of this user" for 1,000 students owning 3 VMs each.
const inventory = new InventoryService({ store, clusterIds: clusters.ids, sync: engine });
const rows = await store.inventory.list();
const people = [];
await store.transaction(async (tx) => {
  for (let p = 0; p < 1000; p++) {
    const person = await tx.classes.createPerson({ username: `s${p}`, displayName: `S${p}`, role: 'student' }, Date.now());
    people.push({ personId: person.id, username: person.username, role: 'student' });
    for (let k = 0; k < 3; k++) {
      const vm = rows[p * 3 + k];
      await tx.classes.assignVm({ clusterId: vm.clusterId, vmid: vm.vmid, personId: person.id, classId: null, role: 'student' }, Date.now());
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
const p99 = samples[Math.floor(samples.length * 0.99)];

// The seeds' walk for one full sync: GET /nodes, then per node the qemu and lxc lists, then per VM
// its status and its config, then the guest agent of every running QEMU VM.
let naive = 0;
for (const sim of sims) {
  const guests = [...sim.state.guests.values()];
  naive += 1 + 2 * sim.state.nodes.size + 2 * guests.length + guests.filter((g) => g.type === 'qemu' && g.status === 'running').length;
}

await store.close();
await Promise.all(apis.map((a) => a.close()));
await Promise.all(sims.map((s) => s.close()));
rmSync(dir, { recursive: true, force: true });

console.log(`${total} VMs over ${CLUSTERS} clusters, ${running} running; SQLite store`);
console.log(`initial full sync: ${initial.requests} requests, ${initial.ms.toFixed(0)} ms`);
console.log(`after ${changedVms} VMs changed — steady full sync: ${steady.requests} requests (${(steady.requests / CLUSTERS).toFixed(1)} per cluster incl. changed VMs), ${steady.ms.toFixed(0)} ms; quick sync: ${quick.requests} requests, ${quick.ms.toFixed(0)} ms`);
console.log(`naive per-node/per-VM walk: ${naive} requests for one full sync; listVms p99 ${p99.toFixed(3)} ms (student, 10,000 rows)`);
console.log(JSON.stringify({
  bench: 'sync',
  vms: total,
  clusters: CLUSTERS,
  initial_full_sync_requests: initial.requests,
  full_sync_requests: steady.requests,
  quick_sync_requests: quick.requests,
  initial_full_sync_ms: Math.round(initial.ms),
  full_sync_ms: Math.round(steady.ms),
  quick_sync_ms: Math.round(quick.ms),
  read_p99_ms: Number(p99.toFixed(3)),
  naive_full_sync_requests: naive,
}));

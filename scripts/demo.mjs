// `npm run demo`: a simulated 3-node Proxmox VE cluster in this process, a SQLite store in
// ./.lab/demo.db, and a class deployment through @lab/proxmox-sdk. Nothing to configure; all
// traffic stays on 127.0.0.1.
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { serveDemoPortal } from './demo-web.mjs';
import { startPveSim } from '@lab/pve-sim';
import { DeploymentEngine, ProxmoxClient, TemplateCatalog } from '@lab/proxmox-sdk';
import { pvePath, waitForTask } from '@lab/proxmox-sdk/pve';
import { openStore } from '@lab/proxmox-store';

const started = performance.now();
/** `npm run demo -- --web`: afterwards, leave the simulator, a development OpenID provider and the portal running. */
const withWeb = process.argv.includes('--web');
const timeScale = 20;
const students = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const tty = process.stdout.isTTY;
const bar = (done, total, width = 24) => '▓'.repeat(Math.round((done / total) * width)).padEnd(width, '░');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

const sim = await startPveSim({ scenario: 'small', timeScale });
mkdirSync('.lab', { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(`.lab/demo.db${suffix}`, { force: true });
const store = await openStore('sqlite:./.lab/demo.db', { createDirectories: true });
const pve = new ProxmoxClient({
  clusterId: 'demo',
  baseUrl: sim.url,
  auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
  tls: { fingerprint: sim.fingerprint },
});
const clusters = { get: () => pve, ids: () => ['demo'] };
const catalog = new TemplateCatalog({ store, clusters });
const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 50 });

try {
  const { version } = await pve.version();
  console.log(
    `Simulated Proxmox VE ${version} at ${sim.url} — 3 nodes, time ×${timeScale}, certificate pinned (${sim.fingerprint.slice(0, 14)}…)`,
  );
  console.log(`Store: sqlite:./.lab/demo.db\n`);

  await catalog.create({
    name: 'ubuntu-24.04',
    description: 'Ubuntu 24.04 cloud image',
    memory: 2048,
    cores: 2,
    mappings: [
      { clusterId: 'demo', node: 'pve1', vmid: 9000 },
      { clusterId: 'demo', node: 'pve2', vmid: 9100 },
    ],
  });
  const teacher = await store.classes.createPerson(
    { username: 'ms-lovelace', displayName: 'Ms Lovelace', role: 'teacher' },
    Date.now(),
  );
  await store.classes.createClass(
    { id: 'cs101', name: 'Intro to Computing', templateId: null, ownerId: teacher.id },
    Date.now(),
  );
  for (const name of students) {
    const p = await store.classes.createPerson({ username: name, displayName: name, role: 'student' }, Date.now());
    await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
  }

  const plan = await engine.plan({
    classId: 'cs101',
    count: students.length,
    template: 'ubuntu-24.04',
    requestedBy: 'ms-lovelace',
  });
  console.log(
    `/lab deploy cs101 ${students.length} → plan: ${plan.counts.create} VMs to create (teacher, base template, ${students.length} students${plan.replicateBaseTo.length ? `, ${plan.replicateBaseTo.length} copies of the base` : ''}) on ${[...new Set([plan.base.node, ...plan.vms.map((v) => v.node)])].join(', ')}${plan.replicateBaseTo.length ? `; the copies go to ${plan.replicateBaseTo.join(', ')}` : ''}`,
  );
  for (const note of plan.notes) console.log(`  ${note}`);
  const total = plan.counts.create;
  let done = 0;
  let lastLine = '';
  const t0 = performance.now();
  const render = (note) => {
    const line = `  cs101 ${bar(done, total)} ${String(done).padStart(2)}/${total}  ${note}`;
    if (tty) process.stdout.write(`\r${line.padEnd(lastLine.length)}`);
    else if (note.startsWith('registered') || note.startsWith('failed')) console.log(line);
    lastLine = line;
  };
  const handle = await engine.apply(plan);
  for await (const event of handle.events) {
    if (event.type === 'registered') {
      done++;
      render(`registered ${event.name} (${event.vmid} on ${event.node})`);
    } else if (event.type === 'cloning' && event.percent !== undefined)
      render(`copying ${event.name} ${event.percent.toFixed(0)}%`);
    else if (event.type === 'failed') render(`failed ${event.name}: ${event.reason}`);
  }
  if (tty) process.stdout.write('\n');
  const summary = await handle.done;
  const deployMs = performance.now() - t0;
  console.log(
    `  ${summary.status}: ${summary.created} created, ${summary.failed.length} failed in ${seconds(deployMs)} (${seconds(deployMs * timeScale)} on the real-time model)\n`,
  );

  console.log('VM                 VMID  node  owner        status');
  const people = new Map((await store.classes.listPeople()).map((p) => [p.id, p.username]));
  for (const a of await store.classes.assignmentsOfClass('cs101')) {
    const vm = await store.inventory.get('demo', a.vmid);
    console.log(
      `${(vm?.name ?? '?').padEnd(18)} ${String(a.vmid).padEnd(5)} ${(vm?.node ?? '?').padEnd(5)} ${(a.personId ? people.get(a.personId) : a.role === 'base' ? '(template)' : '-').padEnd(12)} ${vm?.status ?? '?'}`,
    );
  }

  const alice = (await store.inventory.list({ personId: (await store.classes.getPersonByUsername('alice')).id }))[0];
  const t1 = performance.now();
  await waitForTask(pve, await pve.post(pvePath`/nodes/${alice.node}/qemu/${alice.vmid}/status/start`), {
    pollIntervalMs: 50,
    maxPollIntervalMs: 100,
  });
  await store.inventory.update('demo', alice.vmid, { status: 'running', lastStatusCheck: Date.now() });
  console.log(
    `\n/myvm start (alice) → ${alice.name} is ${(await store.inventory.get('demo', alice.vmid)).status} after ${seconds(performance.now() - t1)}`,
  );
  console.log(
    `\nSummary: ${summary.created} VMs deployed in ${seconds(deployMs)}; ${sim.requests.total} API requests, ${sim.requests.schemaViolations.length} invalid against the PVE schema; demo ran ${seconds(performance.now() - started)}.`,
  );
} finally {
  await store.close();
  await pve.close();
  if (!withWeb) await sim.close();
}
// The served configuration lives in .lab/, so its store is given absolute.
if (withWeb)
  await serveDemoPortal(sim, { store: `sqlite:${resolve('.lab/demo.db')}`, clusterId: 'demo', student: 'alice' });

// Web portal figures: the teacher grid of a 300-student class rendered server-side (through the
// command router as the portal asks for it, then the portal's HTML page) on a store of 10,000 VMs, p50/p95; and a
// deployment's progress reaching 50 open Server-Sent Events streams (the portal's broadcaster over
// loopback HTTP), from the event to the last browser; and the same for a deployment another process
// runs, from its item's write in the store (a second connection to the SQLite file) through the
// portal's one store reader to the last browser. BENCH_QUICK=1 runs it small (figures mean nothing).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@lab/proxmox-store';
import {
  CommandRouter,
  DeploymentProgress,
  ProgressBroadcaster,
  builtinPlugins,
  createLabServices,
} from '@lab/commands';

const quick = process.env.BENCH_QUICK === '1';
const VMS = quick ? 1_000 : 10_000;
const CLASS_SIZE = 300;
const SAMPLES = quick ? 20 : 300;
const WARMUP = quick ? 5 : 30;
const SSE_CLIENTS = 50;
const SSE_EVENTS = quick ? 10 : 60;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (ms) => Math.round(ms * 100) / 100;

/** The portal's page renderer: the grid's HTML as the class page sends it. */
const viewer = { username: 'teacher', displayName: 'T', role: 'teacher', csrfToken: 'x'.repeat(43) };
const { teacherGridPage, StoreProgressFeed, deployTopic } = await import('@lab/web');
const renderPage = (grid) => teacherGridPage(viewer, grid);

const dir = mkdtempSync(join(tmpdir(), 'lab-bench-web-'));
const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
const now = Date.now();
const HOUR = 3_600_000;

// 10,000 VMs in classes of 300 students, each with running intervals, an idle record and audit entries.
const classes = Math.ceil(VMS / CLASS_SIZE);
const rows = [];
const t0 = performance.now();
await store.transaction(async (tx) => {
  const teacher = await tx.classes.createPerson({ username: 'teacher', displayName: 'T', role: 'teacher' }, now);
  await tx.classes.linkIdentity({ personId: teacher.id, platform: 'slack', externalId: 'UTEACHER' });
  for (let c = 0; c < classes; c++) {
    const classId = `class-${c}`;
    await tx.classes.createClass({ id: classId, name: `Class ${c}`, templateId: null, ownerId: teacher.id }, now);
    await tx.usage.savePolicy({
      classId,
      quotaHours: 20,
      maxRunning: 1,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: null,
    });
    for (let s = 0; s < CLASS_SIZE && rows.length < VMS; s++) {
      const vmid = 10_000 + rows.length;
      const person = await tx.classes.createPerson(
        { username: `s${c}-${s}`, displayName: `Student ${s}`, role: 'student' },
        now,
      );
      await tx.classes.addMember({ classId, personId: person.id, role: 'student' });
      await tx.classes.assignVm({ clusterId: 'lab', vmid, personId: person.id, classId, role: 'student' }, now);
      const running = vmid % 3 === 0;
      rows.push({
        clusterId: 'lab',
        vmid,
        name: `${classId}-s${s}`,
        node: `pve${vmid % 8}`,
        status: running ? 'running' : 'stopped',
        ip: running ? `127.10.${(vmid >> 8) & 255}.${vmid & 255}` : null,
        type: 'qemu',
        category: 'linux',
        memory: 2048,
        cores: 2,
        diskSize: 34359738368,
        uptime: 100,
        cpuUsage: 0.01,
        memoryUsage: 0.4,
        isTemplate: false,
        tags: `lab;class-${classId}`,
        rdpAvailable: false,
        sshAvailable: running,
        lastUpdated: now,
        lastStatusCheck: now,
        syncError: null,
        goneAt: null,
      });
      for (let i = 5; i >= 1; i--) {
        await tx.usage.openInterval('lab', vmid, now - i * 24 * HOUR);
        if (i > 1 || !running) await tx.usage.closeInterval('lab', vmid, now - i * 24 * HOUR + 2 * HOUR);
      }
      if (running)
        await tx.usage.saveIdle({
          clusterId: 'lab',
          vmid,
          idleSince: now - HOUR,
          warnedAt: null,
          keptAt: null,
          keepsUsed: 0,
        });
      for (const [k, action, actor, reason] of [
        [3, 'vm.start', 'scheduler', undefined],
        [2, 'vm.shutdown', 'scheduler', 'idle: below 5% CPU for 30 min, warned 10 min before'],
        [1, 'vm.start', person.username, undefined],
      ])
        await tx.audit.record({
          at: now - k * HOUR,
          actor,
          action,
          target: `lab/${vmid}`,
          outcome: 'ok',
          details: reason ? { reason } : {},
        });
    }
  }
  await tx.inventory.upsertMany(rows);
});
const seedS = (performance.now() - t0) / 1000;
console.log(`seeded ${rows.length} VMs in ${classes} classes of up to ${CLASS_SIZE} students in ${seedS.toFixed(1)} s`);

// The grid never reaches Proxmox: any cluster call fails the bench.
const clusters = {
  get() {
    throw new Error('the teacher grid called Proxmox');
  },
  ids: () => ['lab'],
};
const services = createLabServices({ store, clusters });
const router = new CommandRouter(services, builtinPlugins, { rateLimit: { perMinute: 1_000_000 } });
const samples = [];
let htmlBytes = 0;
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  const started = performance.now();
  const reply = await router.invoke({ platform: 'slack', userId: 'UTEACHER', command: 'lab', text: 'grid class-1' });
  if (reply.error) throw new Error(reply.text);
  const html = renderPage(reply.data);
  if (i >= WARMUP) samples.push(performance.now() - started);
  htmlBytes = html.length;
  if (reply.data.rows.length !== CLASS_SIZE) throw new Error(`grid has ${reply.data.rows.length} rows`);
}
samples.sort((a, b) => a - b);
console.log(
  `teacher grid of ${CLASS_SIZE} students on ${rows.length} VMs: p50 ${pct(samples, 50).toFixed(1)} ms, p95 ${pct(samples, 95).toFixed(1)} ms (router + HTML, ${htmlBytes} bytes)`,
);

// SSE: 50 browsers watch class-1's deployment; each event's time to reach the last of them.
const broadcaster = new ProgressBroadcaster();
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  broadcaster.subscribe('class-1', res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
const published = new Map();
const latest = new Map();
const done = [];
for (let c = 0; c < SSE_CLIENTS; c++)
  done.push(
    new Promise((resolve, reject) => {
      get(url, (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buffer += chunk;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const id = /^id: (\d+)$/m.exec(buffer.slice(0, cut))?.[1];
            buffer = buffer.slice(cut + 2);
            if (id) latest.set(id, Math.max(latest.get(id) ?? 0, performance.now()));
          }
        });
        res.on('end', resolve);
      }).on('error', reject);
    }),
  );
while (broadcaster.subscribers('class-1') < SSE_CLIENTS) await new Promise((r) => setTimeout(r, 5));
let seq = 0;
const progress = new DeploymentProgress({
  label: 'class-1',
  total: SSE_EVENTS,
  progress: (u) => {
    published.set(String(++seq), performance.now());
    broadcaster.publish('class-1', u);
  },
});
for (let i = 0; i < SSE_EVENTS; i++) {
  progress.onEvent({
    type: 'registered',
    deploymentId: 'd1',
    name: `class-1-s${i}`,
    vmid: 10_000 + i,
    node: 'pve1',
    adopted: false,
  });
  await new Promise((r) => setTimeout(r, 20));
}
published.set(String(++seq), performance.now());
broadcaster.finish('class-1', { text: `class-1: ${SSE_EVENTS} created, 0 kept, 0 deleted in 1.0 s.` });
await Promise.all(done);
const lags = [...published].map(([id, at]) => (latest.get(id) ?? Infinity) - at).sort((a, b) => a - b);
console.log(
  `progress to ${SSE_CLIENTS} SSE streams: event to last browser p50 ${pct(lags, 50).toFixed(1)} ms, max ${lags.at(-1).toFixed(1)} ms over ${lags.length} events`,
);
broadcaster.close();
server.close();

// Across processes: another process (a second store connection) writes a deployment's item states;
// this one's StoreProgressFeed reads them for 50 browsers. Time from each item's write to the first
// frame counting it at the last browser.
const writer = await openStore(`sqlite:${join(dir, 'lab.db')}`);
const remote = new ProgressBroadcaster();
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const feed = new StoreProgressFeed({
  store,
  broadcaster: remote,
  logger: silent,
  clock: { now: () => Date.now() },
  portalId: 'bench',
});
const feedServer = createServer(async (req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  const unwatch = await feed.watch('class-1');
  res.once('close', unwatch);
  remote.subscribe(deployTopic('class-1'), res);
});
await new Promise((r) => feedServer.listen(0, '127.0.0.1', r));
const feedUrl = `http://127.0.0.1:${feedServer.address().port}/`;
const itemNames = Array.from({ length: SSE_EVENTS }, (_, i) => `class-1-r${i}`);
const started = Date.now();
await writer.deployments.create(
  {
    id: 'bench-remote',
    classId: 'class-1',
    clusterId: 'lab',
    spec: { classId: 'class-1' },
    status: 'running',
    createdBy: 'bench',
    createdAt: started,
    updatedAt: started,
    finishedAt: null,
    error: null,
    notify: null,
  },
  itemNames.map((name) => ({
    deploymentId: 'bench-remote',
    name,
    kind: 'student',
    personId: null,
    node: 'pve1',
    vmid: null,
    status: 'pending',
    attempt: 0,
    error: null,
    updatedAt: started,
  })),
);
/** Per browser, when it first saw each count of finished items. */
const seen = Array.from({ length: SSE_CLIENTS }, () => new Map());
const feedDone = [];
for (let c = 0; c < SSE_CLIENTS; c++)
  feedDone.push(
    new Promise((resolve, reject) => {
      get(feedUrl, (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buffer += chunk;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const data = /^data: (.*)$/m.exec(buffer.slice(0, cut))?.[1];
            buffer = buffer.slice(cut + 2);
            const count = data ? JSON.parse(data).done : undefined;
            if (typeof count === 'number' && !seen[c].has(count)) seen[c].set(count, performance.now());
          }
        });
        res.on('end', resolve);
      }).on('error', reject);
    }),
  );
while (remote.subscribers(deployTopic('class-1')) < SSE_CLIENTS) await new Promise((r) => setTimeout(r, 5));
const written = [];
for (let i = 0; i < SSE_EVENTS; i++) {
  await writer.deployments.updateItem('bench-remote', itemNames[i], { status: 'done', updatedAt: Date.now() });
  written.push(performance.now());
  await new Promise((r) => setTimeout(r, 20));
}
await new Promise((r) => setTimeout(r, 600));
await writer.deployments.update('bench-remote', { status: 'done', finishedAt: Date.now() }, Date.now());
await Promise.all(feedDone);
const firstAt = (c, count) => Math.min(...[...seen[c]].filter(([n]) => n >= count).map(([, at]) => at));
const storeLags = written.map((at, i) => Math.max(...seen.map((_, c) => firstAt(c, i + 1))) - at).sort((a, b) => a - b);
console.log(
  `progress of another process's deployment, through the store, to ${SSE_CLIENTS} SSE streams: item written to last browser p50 ${pct(storeLags, 50).toFixed(1)} ms, max ${storeLags.at(-1).toFixed(1)} ms over ${storeLags.length} items`,
);
feed.close();
remote.close();
feedServer.close();
await writer.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'web',
    quick,
    vms: rows.length,
    class_students: CLASS_SIZE,
    grid_p50_ms: round(pct(samples, 50)),
    grid_p95_ms: round(pct(samples, 95)),
    grid_target_p95_ms: 50,
    sse_clients: SSE_CLIENTS,
    sse_events: lags.length,
    sse_p50_ms: round(pct(lags, 50)),
    sse_max_ms: round(lags.at(-1)),
    sse_target_ms: 1000,
    sse_store_p50_ms: round(pct(storeLags, 50)),
    sse_store_max_ms: round(storeLags.at(-1)),
  }),
);

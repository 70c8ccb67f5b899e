// The start of a lesson: 200 students send `/myvm start` within one second, half through the Slack
// front end and half through the Discord HTTP-interactions front end — each a real HTTP listener,
// with signed requests, and fake Slack / Discord APIs for the replies. Measures how fast each
// request is acknowledged (the platforms' 3-second limit), whether every VM ends up running with no
// PVE error surfacing, and the wall time to "all running" against the simulator's lower bound.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REST } from 'discord.js';
import { startPveSim, DefaultTimings } from '@lab/pve-sim';
import { Clusters, SyncEngine } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import { CommandRouter, builtinPlugins, createLabServices } from '@lab/commands';
import { createSlackBot, signSlackRequest } from '@lab/bot-slack';
import { createDiscordInteractions } from '@lab/bot-discord';

const QUICK = process.env.BENCH_QUICK === '1';
const STUDENTS = Number(process.env.BENCH_STORM_STUDENTS ?? (QUICK ? 20 : 200));
const NODES = Number(process.env.BENCH_STORM_NODES ?? (QUICK ? 2 : 10));
const WINDOW_MS = 1000;
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 10);
const SECRET = 'storm-signing-secret';
const APP = '111111111111111111';
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-storm-'));

const listen = (server) =>
  new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${server.address().port}`)));
const percentile = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

// A school of 10 nodes, each with 20 stopped student VMs (1 GiB, Linux) on local storage.
const sim = await startPveSim({
  timeScale: TIME_SCALE,
  seed: 7,
  scenario: {
    cluster: 'storm',
    nodes: Array.from({ length: NODES }, (_, i) => ({ name: `pve${i + 1}`, cpus: 32, memoryGiB: 128 })),
    storages: [{ id: 'local-lvm', type: 'lvmthin', shared: false, sizeGiB: 4000, throughputMBps: 400 }],
    generate: {
      count: STUDENTS,
      vmidStart: 1000,
      storage: 'local-lvm',
      runningFraction: 0,
      windowsFraction: 0,
      lxcFraction: 0,
      namePrefix: 'student',
    },
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  },
});
const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
// Every answer of the cluster as our client sees it: a PVE error would be counted here.
const pve = { requests: 0, errors: 0 };
const observer = {
  pveRequest: (r) => {
    pve.requests++;
    if (r.status === null || r.status >= 400) pve.errors++;
  },
};
const clusters = new Clusters(
  [{ id: 'school', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint }],
  { observer },
);
await store.clusters.upsert({ id: 'school', name: 'school', url: clusters.get('school').baseUrl });
await new SyncEngine({ store, clusters }).fullSync();
const students = [];
for (let i = 0; i < STUDENTS; i++) {
  const platform = i % 2 === 0 ? 'slack' : 'discord';
  const externalId = platform === 'slack' ? `U${String(i).padStart(8, '0')}` : String(300000000000000000n + BigInt(i));
  const person = await store.classes.createPerson(
    { username: `s${String(i).padStart(3, '0')}`, displayName: `Student ${i}`, role: 'student' },
    Date.now(),
  );
  await store.classes.linkIdentity({ personId: person.id, platform, externalId });
  await store.classes.assignVm(
    { clusterId: 'school', vmid: 1000 + i, personId: person.id, classId: null, role: 'student' },
    Date.now(),
  );
  students.push({ platform, externalId, vmid: 1000 + i });
}

// Poll tasks once a model-second (a start task takes about 2 s on a real node).
const services = createLabServices({ store, clusters, pollIntervalMs: Math.max(5, 1000 / TIME_SCALE) });
const router = new CommandRouter(services, builtinPlugins, { rateLimit: { perMinute: 1000 } });

// Fake platform APIs: Slack's response_url, Discord's webhook edits. Count what they get.
const replies = { slack: 0, discord: 0, errors: [] };
const fakePlatforms = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const platform = req.url.startsWith('/respond/') ? 'slack' : 'discord';
    if (req.url.startsWith('/respond/') || req.method === 'PATCH') {
      replies[platform]++;
      const text = platform === 'slack' ? JSON.parse(body).text : JSON.parse(body).content;
      if (/error|failed|went wrong|refused|can't|cannot/i.test(String(text)))
        replies.errors.push(`${platform}: ${text}`);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"ts":"1.1","id":"1"}');
  });
});
const platformUrl = await listen(fakePlatforms);

const slack = createSlackBot({
  router,
  signingSecret: SECRET,
  botToken: 'xoxb-storm',
  slackApiUrl: `${platformUrl}/api/`,
});
const slackServer = createServer(slack.requestListener);
const slackUrl = await listen(slackServer);
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicHex = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('hex');
const rest = new REST({ api: `${platformUrl}/api`, retries: 0 }).setToken('storm-bot-token');
const discord = createDiscordInteractions({ router, publicKey: publicHex, applicationId: APP, rest });
const discordServer = createServer(discord.requestListener);
const discordUrl = await listen(discordServer);

function post(url, path, headers, body) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function send(student, i) {
  if (student.platform === 'slack') {
    const body = new URLSearchParams({
      command: '/myvm',
      text: 'start',
      user_id: student.externalId,
      channel_id: 'C1',
      trigger_id: `t${i}`,
      response_url: `${platformUrl}/respond/${i}`,
    }).toString();
    return post(slackUrl, '/slack/events', signSlackRequest(SECRET, body), body);
  }
  const body = JSON.stringify({
    type: 2,
    id: String(500000000000000000n + BigInt(i)),
    application_id: APP,
    token: `tok-${i}`,
    version: 1,
    channel_id: '444',
    member: { user: { id: student.externalId, username: 'u' } },
    data: { id: '2', name: 'myvm', type: 1, options: [{ type: 1, name: 'start', options: [] }] },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + body), privateKey).toString('hex');
  return post(
    discordUrl,
    '/interactions',
    { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp },
    body,
  );
}

pve.requests = 0;
pve.errors = 0;
const t0Model = sim.time.now();
// When the last request was sent, on the model: no start can end before it plus a start's duration.
let lastArrivalModelMs = 0;
const t0 = performance.now();
// 200 arrivals spread evenly over one second (each at its own instant, as students press Enter).
const stage = (what) =>
  process.env.BENCH_DEBUG && console.error(`[storm] ${what} at ${Math.round(performance.now() - t0)} ms`);
const acks = await Promise.all(
  students.map((s, i) =>
    new Promise((r) => setTimeout(r, (i * WINDOW_MS) / STUDENTS)).then(() => {
      lastArrivalModelMs = Math.max(lastArrivalModelMs, sim.time.now() - t0Model);
      return send(s, i);
    }),
  ),
);
stage('all acknowledged');
// Wait for every VM to run in the simulator (the cluster's truth), then for the bots to finish replying.
const isRunning = (vmid) => sim.state.guests.get(vmid)?.status === 'running';
while (!students.every((s) => isRunning(s.vmid))) {
  if (performance.now() - t0 > 120_000)
    throw new Error(`after 2 min, ${students.filter((s) => !isRunning(s.vmid)).length} VMs are still not running`);
  await new Promise((res) => setTimeout(res, 5));
}
const allRunningModelMs = sim.time.now() - t0Model;
stage('all running');
const wallMs = performance.now() - t0;
const idle = Promise.all([slack.idle(), discord.idle()]);
await Promise.race([
  idle,
  new Promise((_, reject) =>
    setTimeout(
      () =>
        reject(
          new Error(
            `replies still pending 2 min after all VMs ran (Slack ${replies.slack}, Discord ${replies.discord} sent)`,
          ),
        ),
      120_000,
    ).unref(),
  ),
]);
const failedStartTasks = [...sim.state.tasks.tasks.values()].filter(
  (t) => t.type === 'qmstart' && t.status === 'stopped' && t.exitstatus !== 'OK',
).length;
const ackMs = acks.map((a) => a.ms);
const bad = acks.filter((a) => a.status !== 200).length;

// The simulator's lower bound: the last student's request is sent at the end of the window, and a
// start takes `startSeconds` on the model whatever else the node does.
const lowerBoundModelMs = lastArrivalModelMs + DefaultTimings.startSeconds * 1000;
const ratio = allRunningModelMs / lowerBoundModelMs;
await store.close();
await clusters.close();
await sim.close();
// Every listener this bench opened: one left listening keeps the process from exiting.
for (const server of [slackServer, discordServer, fakePlatforms]) {
  server.closeAllConnections();
  server.close();
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `${STUDENTS} students (${STUDENTS / 2} Slack, ${STUDENTS / 2} Discord) send /myvm start within ${WINDOW_MS} ms; ${NODES} nodes, time scale ×${TIME_SCALE}`,
);
console.log(
  `ack: p50 ${percentile(ackMs, 50).toFixed(1)} ms, p99 ${percentile(ackMs, 99).toFixed(1)} ms, max ${Math.max(...ackMs).toFixed(1)} ms; non-200 answers: ${bad}`,
);
console.log(
  `all running after ${(allRunningModelMs / 1000).toFixed(2)} s on the model (${(wallMs / 1000).toFixed(2)} s real); lower bound ${(lowerBoundModelMs / 1000).toFixed(2)} s; ratio ${ratio.toFixed(3)}`,
);
console.log(
  `replies: ${replies.slack} Slack, ${replies.discord} Discord; error replies: ${replies.errors.length}${replies.errors.length ? ` (${replies.errors.slice(0, 3).join(' | ')})` : ''}; PVE requests ${pve.requests}, error answers ${pve.errors}, failed start tasks ${failedStartTasks}`,
);
console.log(
  JSON.stringify({
    bench: 'storm',
    students: STUDENTS,
    ack_p50_ms: Number(percentile(ackMs, 50).toFixed(1)),
    ack_p99_ms: Number(percentile(ackMs, 99).toFixed(1)),
    non_200_acks: bad,
    all_running: students.every((s) => isRunning(s.vmid)),
    error_replies: replies.errors.length,
    pve_error_answers: pve.errors,
    failed_start_tasks: failedStartTasks,
    all_running_ms: Math.round(allRunningModelMs),
    lower_bound_ms: Math.round(lowerBoundModelMs),
    ratio: Number(ratio.toFixed(3)),
  }),
);

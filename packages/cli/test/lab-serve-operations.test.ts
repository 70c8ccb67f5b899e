import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { createInvite, type Store } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { checkReadiness, configSecrets, createPinoLogger, loadLabConfig } from '../src/index.js';
import { postSlackCommand, runLab, startLab, stopLab } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-ops-'));
const SIGNING_SECRET = 'ops-signing-secret-5f1c2a';
const BOT_TOKEN = 'xoxb-ops-bot-token-77aa';
const APP_TOKEN = 'xapp-ops-app-token-99bb';
let sim: PveSim;
let fakeSlack: Server;
let slackUrl: string;
let inviteCode: string;
const responses = new Map<string, string>();

/** Polls `check` until it holds; the deadline is generous so a loaded machine only makes it slower. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

function slash(url: string, command: string, text: string, userId: string, id: string): Promise<number> {
  return postSlackCommand(url, SIGNING_SECRET, {
    command,
    text,
    user_id: userId,
    channel_id: 'C1',
    trigger_id: `trigger-${id}`,
    response_url: `${slackUrl}/respond/${id}`,
  });
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  fakeSlack = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const m = /^\/respond\/(.+)$/.exec(req.url ?? '');
      if (m) responses.set(m[1]!, body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"ts":"1.1"}');
    });
  });
  await new Promise<void>((r) => fakeSlack.listen(0, '127.0.0.1', () => r()));
  slackUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}`;
  const storeUrl = `sqlite:${join(dir, 'lab.db')}`;
  writeFileSync(join(dir, 'token'), `${sim.tokenSecret}\n`);
  writeFileSync(
    join(dir, 'lab.config.json'),
    JSON.stringify({
      store: storeUrl,
      clusters: [
        {
          id: 'lab',
          url: sim.url,
          tokenId: sim.tokenId,
          tokenSecretFile: join(dir, 'token'),
          fingerprint: sim.fingerprint,
        },
      ],
      sync: { quickIntervalMs: 1000 },
      slack: {
        signingSecret: SIGNING_SECRET,
        botToken: BOT_TOKEN,
        appToken: APP_TOKEN,
        apiUrl: `${slackUrl}/api/`,
        host: '127.0.0.1',
      },
    }),
  );
  const store = await openStore(storeUrl);
  const admin = await store.classes.createPerson({ username: 'root', displayName: 'Admin', role: 'admin' }, 1);
  await store.classes.linkIdentity({ personId: admin.id, platform: 'slack', externalId: 'UADMIN' });
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
  const t = await store.templates.create(
    { name: 'ubuntu', description: '', memory: 2048, cores: 2, isActive: true },
    [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
    1,
  );
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: t.id, ownerId: admin.id }, 1);
  inviteCode = (await createInvite({ store }, { classId: 'cs101', createdBy: admin.id })).code;
  await store.close();
});
afterAll(async () => {
  await new Promise((r) => fakeSlack.close(r));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab serve operations endpoints', () => {
  it('answers /healthz, turns /readyz ready once the cluster synced, and exports PVE, sync, command and lease metrics', async () => {
    const { child, first } = await startLab<{ url: string }>(
      ['--config', join(dir, 'lab.config.json'), 'serve', 'slack', '--port', '0'],
      { cwd: dir, env: { LAB_LOG_LEVEL: 'debug' } },
    );
    let stderr = ''; // from the first line on stdout: the start-up lines went to startLab
    child.stderr!.on('data', (c) => (stderr += c));
    try {
      const { url } = first;
      const health = await get(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toEqual({ status: 'ok' });

      type Holding = { name: string; holder: string | null; heldByThisProcess: boolean };
      const ready = await eventually(async () => {
        const r = await get(`${url}/readyz`);
        if (r.status !== 200) return undefined;
        const { leases } = JSON.parse(r.body) as { leases: Holding[] };
        return leases.every((l) => l.heldByThisProcess) ? r : undefined;
      }, 'the first sync, and the scheduler lease');
      const readiness = JSON.parse(ready.body) as {
        ready: boolean;
        store: { ok: boolean };
        clusters: Array<{ clusterId: string; ok: boolean }>;
        lease: Holding;
        leases: Holding[];
      };
      // Who syncs and who sends the DMs (the class scheduler): each lease with its holder, host:pid:….
      expect(readiness.leases.map((l) => l.name)).toEqual(['sync-leader', 'class-scheduler']);
      for (const l of readiness.leases) expect(l.holder).toMatch(new RegExp(`:${child.pid}:`));
      expect(readiness).toMatchObject({ ready: true, store: { ok: true }, clusters: [{ clusterId: 'lab', ok: true }] });
      expect(readiness.lease.holder).toEqual(expect.any(String));
      expect(readiness.lease.heldByThisProcess).toBe(true);

      // Commands through the real Slack listener: a student's, an admin's sync status, and a join with an invite code.
      expect(await slash(url, '/myvm', 'status', 'UALICE', 'a')).toBe(200);
      expect(await slash(url, '/lab', 'sync status', 'UADMIN', 'b')).toBe(200);
      expect(await slash(url, '/lab', `join ${inviteCode} bob`, 'UBOB', 'c')).toBe(200);
      expect(await slash(url, '/lab', 'deploy', 'UALICE', 'd')).toBe(200);
      await eventually(
        async () => (['a', 'b', 'c', 'd'].every((id) => responses.has(id)) ? true : undefined),
        'the four replies',
      );
      const status = JSON.parse(responses.get('b')!) as { text: string };
      expect(status.text).toMatch(/VMs: \d+ total, \d+ fresh, \d+ with sync errors, \d+ running/);
      expect(status.text).toMatch(/Last full sync .+, last quick sync .+; consecutive errors: 0/);

      const metrics = await get(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = metrics.body;
      expect(text).toMatch(
        /^lab_pve_request_duration_seconds_count\{cluster="lab",method="GET",endpoint="\/cluster\/resources"\} [1-9]/m,
      );
      expect(text).toMatch(/^lab_sync_duration_seconds_count\{cluster="lab",kind="full",outcome="ok"\} [1-9]/m);
      expect(text).toMatch(/^lab_sync_vms\{cluster="lab"\} [1-9]/m);
      expect(text).toMatch(/^lab_inventory_vms\{state="total"\} [1-9]/m);
      expect(text).toMatch(/^lab_inventory_vms\{state="running"\} \d+/m);
      expect(text).toMatch(
        /^lab_command_duration_seconds_count\{command="myvm status",platform="slack",outcome="ok"\} 1$/m,
      );
      expect(text).toMatch(
        /^lab_command_duration_seconds_count\{command="lab sync",platform="slack",outcome="ok"\} 1$/m,
      );
      expect(text).toMatch(
        /^lab_command_duration_seconds_count\{command="lab deploy",platform="slack",outcome="refused"\} 1$/m,
      );
      expect(text).toMatch(/^lab_deployments_in_flight 0$/m);
      expect(text).toMatch(/^lab_deployment_items_in_flight\{status="cloning"\} 0$/m);
      expect(text).toMatch(
        new RegExp(`^lab_lease_holder\\{lease="sync-leader",holder="${readiness.lease.holder}"\\} 1$`, 'm'),
      );
      expect(text).toMatch(/^lab_lease_held\{lease="sync-leader"\} 1$/m);
      expect(text).toMatch(
        new RegExp(`^lab_lease_holder\\{lease="class-scheduler",holder="${readiness.leases[1]!.holder}"\\} 1$`, 'm'),
      );
      expect(text).toMatch(/^lab_lease_held\{lease="class-scheduler"\} 1$/m);
      expect(text).toMatch(/^lab_sync_consecutive_errors\{cluster="lab"\} 0$/m);
      expect(text).toMatch(/^lab_process_resident_memory_bytes \d+/m);
    } finally {
      expect(await stopLab(child), stderr).toBe(0);
    }

    // Structured logs: every stderr line is one JSON record, and no secret of the run is in any of them.
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(records.some((r) => r.level === 'debug' && r.msg === 'PVE request')).toBe(true);
    expect(records.some((r) => r.level === 'debug' && r.msg === 'cluster synced')).toBe(true);
    for (const secret of [
      sim.tokenSecret,
      SIGNING_SECRET,
      BOT_TOKEN,
      APP_TOKEN,
      inviteCode,
      inviteCode.replace('-', ''),
    ])
      expect(stderr).not.toContain(secret);
  }, 120_000);
});

describe('lab sync status', () => {
  // Runs after the serve test above, whose bot synced the cluster into the store.
  it('prints the totals and sync times the bots kept in the store, as text and as JSON', async () => {
    const json = await runLab(['--config', join(dir, 'lab.config.json'), 'sync', 'status', '--json'], { cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const stats = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({
      total: expect.any(Number),
      fresh: expect.any(Number),
      withErrors: 0,
      running: expect.any(Number),
      lastFullSyncAt: expect.any(Number),
      lastQuickSyncAt: expect.any(Number),
      consecutiveErrors: 0,
      healthy: true,
    });
    expect(stats.total).toBeGreaterThan(0);
    const text = await runLab(['--config', join(dir, 'lab.config.json'), 'sync', 'status'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^VMs: \d+ total, \d+ fresh, 0 with sync errors, \d+ running\nLast full sync .+ ago, last quick sync .+ ago; consecutive errors: 0\nThis process: not running the sync engine\nlab: last success .+ ago\nHealthy\.\n$/,
    );
  });
});

describe('readiness', () => {
  const base = (store: Store, now: number) => ({
    store,
    clusterIds: () => ['lab1', 'lab2'],
    syncEnabled: true,
    clusterMaxAgeMs: 60_000,
    holderId: 'me',
    now: () => now,
  });
  const state = (clusterId: string, lastSuccessAt: number | null, consecutiveErrors = 0) => ({
    clusterId,
    lastFullSyncAt: lastSuccessAt,
    lastQuickSyncAt: lastSuccessAt,
    lastSuccessAt,
    consecutiveErrors,
    lastError: consecutiveErrors ? 'connect ECONNREFUSED' : null,
    nextAttemptAt: null,
  });

  it('is ready when every cluster answered within its limit, and names the lease holder', async () => {
    const store = createMemoryStore();
    await store.sync.saveState(state('lab1', 1_000_000));
    await store.sync.saveState(state('lab2', 1_030_000));
    await store.sync.acquireLease('sync-leader', 'other-process', 90_000, 1_000_000);
    await store.sync.acquireLease('class-scheduler', 'my-scheduler', 90_000, 1_000_000);
    const r = await checkReadiness({
      ...base(store, 1_050_000),
      leaseHolderIds: { 'class-scheduler': 'my-scheduler' },
    });
    expect(r).toMatchObject({
      ready: true,
      store: { ok: true },
      lease: { name: 'sync-leader', holder: 'other-process', heldByThisProcess: false },
    });
    expect(r.leases).toEqual([
      { name: 'sync-leader', holder: 'other-process', heldByThisProcess: false, expiresAt: 1_090_000 },
      { name: 'class-scheduler', holder: 'my-scheduler', heldByThisProcess: true, expiresAt: 1_090_000 },
    ]);
  });

  it('is not ready when a cluster has not answered within its limit or never did', async () => {
    const store = createMemoryStore();
    await store.sync.saveState(state('lab1', 1_000_000, 3));
    const r = await checkReadiness(base(store, 1_100_000));
    expect(r.ready).toBe(false);
    expect(r.clusters[0]).toMatchObject({ clusterId: 'lab1', ok: false, consecutiveErrors: 3 });
    expect(r.clusters[0]!.reason).toMatch(
      /last answered 100 s ago \(limit 60 s\); 3 failed syncs: connect ECONNREFUSED/,
    );
    expect(r.clusters[1]).toMatchObject({ clusterId: 'lab2', ok: false, reason: 'not synced yet' });
  });

  it('is not ready when the store does not answer', async () => {
    const store = createMemoryStore();
    const broken = {
      ...store,
      sync: {
        ...store.sync,
        listStates: () => Promise.reject(new Error('SQLITE_CANTOPEN: unable to open database file')),
      },
    } as Store;
    const r = await checkReadiness(base(broken, 1));
    expect(r).toMatchObject({
      ready: false,
      store: { ok: false, error: 'SQLITE_CANTOPEN: unable to open database file' },
    });
  });

  it('does not check clusters when sync is disabled', async () => {
    const r = await checkReadiness({ ...base(createMemoryStore(), 1), syncEnabled: false });
    expect(r.ready).toBe(true);
  });
});

describe('the pino logger', () => {
  it('writes JSON lines with the SDK logger’s redaction: secret-named fields, listed secrets anywhere, errors', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadLabConfigFrom({
      clusters: [
        { id: 'lab', url: 'https://127.0.0.1:8006', tokenId: 'lab@pve!bot', tokenSecret: 'cafe-0001-secret' },
        { id: 'old', url: 'https://127.0.0.1:8007', username: 'root@pam', password: 'hunter2-pw' },
      ],
      slack: { signingSecret: 'sig-abcdef', botToken: 'xoxb-123456' },
      discord: { token: 'discord-tok-9876' },
    });
    const secrets = configSecrets(config, { LAB_CLUSTER_X_TOKEN_SECRET: 'env-secret-42' });
    expect(secrets.sort()).toEqual([
      'cafe-0001-secret',
      'discord-tok-9876',
      'env-secret-42',
      'hunter2-pw',
      'sig-abcdef',
      'xoxb-123456',
    ]);
    const logger = createPinoLogger({ level: 'debug', secrets, destination, bindings: { service: 'test' } }).child({
      clusterId: 'lab',
    });
    logger.debug('auth header', {
      authorization: 'PVEAPIToken=lab@pve!bot=cafe-0001-secret',
      url: 'https://x/?t=cafe-0001-secret',
    });
    logger.warn('slack said sig-abcdef and xoxb-123456', {
      nested: { password: 'hunter2-pw', note: 'discord-tok-9876' },
    });
    logger.error('failed', {
      error: Object.assign(new Error('token env-secret-42 refused'), { code: 'LAB_PVE_AUTH' }),
    });
    expect(lines).toHaveLength(3);
    const all = lines.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
    const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({
      level: 'debug',
      msg: 'auth header',
      service: 'test',
      clusterId: 'lab',
      authorization: '[REDACTED]',
      url: 'https://x/?t=[REDACTED]',
    });
    expect(b).toMatchObject({
      level: 'warn',
      msg: 'slack said [REDACTED] and [REDACTED]',
      nested: { password: '[REDACTED]', note: '[REDACTED]' },
    });
    expect(c).toMatchObject({
      level: 'error',
      error: { name: 'Error', message: 'token [REDACTED] refused', code: 'LAB_PVE_AUTH' },
    });
    expect(typeof a!.time).toBe('string');
  });
});

function loadLabConfigFrom(json: object) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(json));
  return loadLabConfig(file, {});
}

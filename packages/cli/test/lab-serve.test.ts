import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { loadLabConfig, openLabRuntime } from '../src/index.js';
import { serveBot } from '../src/serve-bot.js';
import { postSlackCommand } from './helpers.js';

const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-serve-'));
const SECRET = 'serve-signing-secret';
let sim: PveSim;
let fakeSlack: Server;
let slackUrl: string;
const slackCalls: string[] = [];

/** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  fakeSlack = createServer((req, res) => {
    slackCalls.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"ts":"1.1"}'));
  });
  await new Promise<void>((r) => fakeSlack.listen(0, '127.0.0.1', () => r()));
  slackUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}`;
  const storeUrl = `sqlite:${join(dir, 'lab.db')}`;
  writeFileSync(
    join(dir, 'lab.config.json'),
    JSON.stringify({
      store: storeUrl,
      clusters: [
        { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
      ],
      sync: { quickIntervalMs: 1000 },
      slack: { signingSecret: SECRET, botToken: 'xoxb-x', apiUrl: `${slackUrl}/api/`, host: '127.0.0.1' },
    }),
  );
  const store = await openStore(storeUrl);
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
  await store.close();
});
afterAll(async () => {
  await new Promise((r) => fakeSlack.close(r));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab serve slack', () => {
  it('serves signed commands, syncs under the lease, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [cli, '--config', join(dir, 'lab.config.json'), 'serve', 'slack', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const url = await new Promise<string>((r, reject) => {
      child.stdout.on('data', (c) => r((JSON.parse(String(c).split('\n')[0]!) as { url: string }).url));
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const status = await postSlackCommand(url, SECRET, {
      command: '/myvm',
      text: 'status',
      user_id: 'UALICE',
      channel_id: 'C1',
      response_url: `${slackUrl}/respond/1`,
    });
    expect(status).toBe(200);
    await eventually(() => slackCalls.some((c) => c.startsWith('/respond/')));
    expect(slackCalls).toContain('/respond/1');
    await eventually(() => sim.requests.count('GET /cluster/resources') > 0);
    expect(sim.requests.count('GET /cluster/resources')).toBeGreaterThan(0);
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit, stderr).toBe(0);
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    expect(await store.sync.getLease('sync-leader')).toBeUndefined();
    expect((await store.inventory.list()).length).toBeGreaterThan(0);
    await store.close();
  });
});

describe('lab serve on a port in use', () => {
  it('says which port is taken and how to choose another, exits 1 and leaves no lease behind', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(
        process.execPath,
        [cli, '--config', join(dir, 'lab.config.json'), 'serve', 'slack', '--port', String(port)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code, stderr).toBe(1);
      expect(stdout).toBe('');
      const lines = stderr
        .trimEnd()
        .split('\n')
        .filter((l) => !l.startsWith('{'));
      expect(lines).toEqual([
        `lab: Port ${port} on 127.0.0.1 is already in use (another lab serve?); stop that process, or give this one a free port with --port or slack.port in lab.config.json.`,
      ]);
      const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
      expect(await store.sync.getLease('sync-leader')).toBeUndefined();
      await store.close();
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe('lab serve with sync.enabled: false', () => {
  it('starts no sync engine and takes no leader lease', async () => {
    const quiet = join(dir, 'no-sync');
    mkdirSync(quiet);
    const configFile = join(dir, 'no-sync.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        store: `sqlite:${join(quiet, 'lab.db')}`,
        clusters: [
          { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
        ],
        sync: { enabled: false },
        discord: { mode: 'http', applicationId: '123456789012345678', publicKey: 'a'.repeat(64) },
      }),
    );
    const runtime = await openLabRuntime(loadLabConfig(configFile, {}), { runSync: true });
    const served = await serveBot(runtime, 'discord', { port: 0 });
    try {
      expect(runtime.services.sync?.isRunning ?? false).toBe(false);
      expect(await runtime.store.sync.getLease('sync-leader')).toBeUndefined();
    } finally {
      await served.shutdown();
    }
  });
});

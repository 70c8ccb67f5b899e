import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { postSlackCommand } from './helpers.js';

const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-serve-several-'));
const SECRET = 'several-signing-secret';
let sim: PveSim;
let fakeSlack: Server;
let slackUrl: string;
const slackCalls: string[] = [];
const config = join(dir, 'lab.config.json');

/** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Runs `lab` to its end: exit code, stdout and stderr. */
function lab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, '--config', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
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
    config,
    JSON.stringify({
      store: storeUrl,
      clusters: [
        { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
      ],
      sync: { quickIntervalMs: 1000 },
      slack: { signingSecret: SECRET, botToken: 'xoxb-x', apiUrl: `${slackUrl}/api/`, port: 0 },
      discord: { mode: 'http', applicationId: '123456789012345678', publicKey: 'a'.repeat(64), port: 0 },
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

describe('lab serve slack discord', () => {
  it('runs both front ends in one process: one JSON line each, one sync, and a clean stop on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, '--config', config, 'serve', 'slack', 'discord'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout.on('data', (c) => (stdout += c));
    await eventually(() => stdout.split('\n').filter(Boolean).length >= 2 || child.exitCode !== null);
    const lines = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { serving: string; url: string });
    expect(
      lines.map((l) => l.serving),
      stderr,
    ).toEqual(['slack', 'discord']);
    const [slack, discord] = lines;
    expect(slack!.url).not.toBe(discord!.url);
    expect(
      await postSlackCommand(slack!.url, SECRET, {
        command: '/myvm',
        text: 'status',
        user_id: 'UALICE',
        channel_id: 'C1',
        response_url: `${slackUrl}/respond/7`,
      }),
    ).toBe(200);
    await eventually(() => slackCalls.includes('/respond/7'));
    expect(slackCalls).toContain('/respond/7');
    // The Discord endpoint checks signatures; both addresses answer the same operations endpoints.
    expect((await fetch(discord!.url, { method: 'POST', body: '{}' })).status).toBe(401);
    for (const { url } of lines) expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    await eventually(() => sim.requests.count('GET /cluster/resources') > 0);
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    expect((await store.sync.getLease('sync-leader'))?.holder).toBeTruthy();
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(await store.sync.getLease('sync-leader')).toBeUndefined();
    await store.close();
  });

  it('refuses --port for several front ends and a front end that is no server, naming what to do', async () => {
    const port = await lab(['serve', 'slack', 'discord', '--port', '3999']);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain(
      'lab: --port names one port but slack and discord are served; set slack.port and discord.port in lab.config.json instead',
    );
    const cliServed = await lab(['serve', 'cli']);
    expect(cliServed.code).not.toBe(0);
    expect(cliServed.stderr).toContain("'cli' is invalid for argument 'bot'. Allowed choices are slack, discord, web.");
  });
});

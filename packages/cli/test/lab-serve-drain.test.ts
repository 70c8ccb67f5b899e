import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { cleanEnv, labBin, postSlackCommand } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-serve-drain-'));
const SECRET = 'drain-signing-secret';
let sim: PveSim;
let silentSlack: Server;
let slackUrl: string;
const slackCalls: string[] = [];

/** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** One JSON log line of `stderr` whose `msg` is `msg`. */
function logLine(stderr: string, msg: string): Record<string, unknown> | undefined {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === msg);
}

function writeConfig(name: string, drainSeconds: number): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      store: `sqlite:${join(dir, `${name}.db`)}`,
      clusters: [
        { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
      ],
      serve: { drainSeconds },
      slack: { signingSecret: SECRET, botToken: 'xoxb-x', apiUrl: `${slackUrl}/api/`, host: '127.0.0.1' },
    }),
  );
  return file;
}

/** A `lab serve slack` whose Slack reply hangs on the silent server; resolves once the reply is outstanding. */
async function serveWithHangingReply(
  configFile: string,
  replyId: string,
): Promise<{ child: ChildProcess; stderr: () => string; exit: Promise<number | null> }> {
  const store = await openStore(`sqlite:${configFile.replace(/\.json$/, '.db')}`);
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
  await store.close();
  const child = spawn(process.execPath, [labBin, '--config', configFile, 'serve', 'slack', '--port', '0'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = await Promise.race([
    new Promise<string>((r) =>
      child.stdout.once('data', (c) => r((JSON.parse(String(c).split('\n')[0]!) as { url: string }).url)),
    ),
    exit.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr}`))),
  ]);
  const status = await postSlackCommand(url, SECRET, {
    command: '/myvm',
    text: 'status',
    user_id: 'UALICE',
    channel_id: 'C1',
    response_url: `${slackUrl}/respond/${replyId}`,
  });
  expect(status).toBe(200);
  await eventually(() => slackCalls.includes(`/respond/${replyId}`));
  expect(slackCalls).toContain(`/respond/${replyId}`);
  return { child, stderr: () => stderr, exit };
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  // Accepts every request and never answers, as slack.com did when unreachable behind a stalled proxy.
  silentSlack = createServer((req) => {
    slackCalls.push(req.url ?? '');
    req.resume();
  });
  await new Promise<void>((r) => silentSlack.listen(0, '127.0.0.1', () => r()));
  slackUrl = `http://127.0.0.1:${(silentSlack.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silentSlack.closeAllConnections();
  await new Promise((r) => silentSlack.close(r));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab serve slack stopping while a reply to Slack hangs', () => {
  it('stops waiting after serve.drainSeconds, warns which commands were left, releases the leases and exits 0', async () => {
    const configFile = writeConfig('drain', 1);
    const { child, stderr, exit } = await serveWithHangingReply(configFile, 'drain');
    child.kill('SIGTERM');
    expect(await exit, stderr()).toBe(0);
    expect(logLine(stderr(), 'shutdown drain deadline passed; not waiting for commands still running')).toMatchObject({
      level: 'warn',
      drainSeconds: 1,
      runningCommands: 1,
      frontEnds: ['slack'],
    });
    const store = await openStore(`sqlite:${join(dir, 'drain.db')}`);
    expect(await store.sync.getLease('sync-leader')).toBeUndefined();
    expect(await store.sync.getLease('class-scheduler')).toBeUndefined();
    await store.close();
  });

  it('exits at once with code 1 on a second SIGTERM, saying so', async () => {
    const configFile = writeConfig('second-signal', 3_600);
    const { child, stderr, exit } = await serveWithHangingReply(configFile, 'second');
    child.kill('SIGTERM');
    await eventually(() => logLine(stderr(), 'stopping: no new requests; waiting for running commands') !== undefined);
    expect(logLine(stderr(), 'stopping: no new requests; waiting for running commands')).toMatchObject({
      signal: 'SIGTERM',
      drainSeconds: 3_600,
    });
    child.kill('SIGTERM');
    expect(await exit, stderr()).toBe(1);
    expect(logLine(stderr(), 'second stop signal; exiting at once without waiting for running commands')).toMatchObject(
      { level: 'warn', signal: 'SIGTERM' },
    );
    expect(logLine(stderr(), 'shutdown drain deadline passed; not waiting for commands still running')).toBeUndefined();
  });
});

describe('serve.drainSeconds in lab.config.json', () => {
  it('refuses a value that is not whole seconds, naming the key', async () => {
    const { loadLabConfig } = await import('../src/index.js');
    const file = writeConfig('bad-drain', 1.5);
    expect(() => loadLabConfig(file, {})).toThrow(/serve\.drainSeconds.*whole seconds/);
  });
});

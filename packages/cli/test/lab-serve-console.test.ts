import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { CONSOLE_CSP } from '../src/index.js';
import { http, openViewer, viewerHandshake } from './console-fixture.js';
import { postSlackCommand, runLab, startLab, stopLab } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-serve-console-'));
const SIGNING_SECRET = 'console-signing-secret-81d0';
let sim: PveSim;
let fakeSlack: Server;
let slackUrl: string;
let port: number;
const responses = new Map<string, string>();

/** A port that was free a moment ago, for `lab serve --port` (the public URL must name it before the bot starts). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return free;
}

function slash(url: string, text: string, userId: string, id: string): Promise<number> {
  return postSlackCommand(url, SIGNING_SECRET, {
    command: '/myvm',
    text,
    user_id: userId,
    channel_id: 'C1',
    trigger_id: `trigger-${id}`,
    response_url: `${slackUrl}/respond/${id}`,
  });
}

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const end = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const config = (withConsole: boolean) =>
  JSON.stringify({
    store: `sqlite:${join(dir, 'lab.db')}`,
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
      botToken: 'xoxb-console-bot',
      apiUrl: `${slackUrl}/api/`,
      host: '127.0.0.1',
    },
    ...(withConsole
      ? { console: { publicUrl: `http://127.0.0.1:${port}`, linkTtlSeconds: 120, sessionMinutes: 15 } }
      : {}),
  });

beforeAll(async () => {
  // VNC tickets live 40 s of simulated time: keep the simulator close to real time.
  sim = await startPveSim({ timeScale: 5 });
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
  port = await freePort();
  writeFileSync(join(dir, 'token'), `${sim.tokenSecret}\n`);
  writeFileSync(join(dir, 'lab.config.json'), config(true));
  writeFileSync(join(dir, 'no-console.json'), config(false));
  const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, 1);
  await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
  await store.classes.assignVm(
    { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
    1,
  );
  await store.close();
});
afterAll(async () => {
  await new Promise((r) => fakeSlack.close(r));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the console in lab serve', () => {
  it('answers /myvm console in Slack privately with a link that lab serve opens and relays', async () => {
    const { child, first } = await startLab<{ url: string }>(
      ['--config', join(dir, 'lab.config.json'), 'serve', 'slack', '--port', String(port)],
      { cwd: dir },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      expect(first.url).toBe(base);
      await eventually(
        async () => ((await http(`${base}/readyz`)).status === 200 ? true : undefined),
        'the first sync',
      );
      expect(await slash(base, 'console', 'UALICE', 'c1')).toBe(200);
      const reply = JSON.parse(await eventually(() => responses.get('c1'), 'the reply')) as {
        text: string;
        response_type?: string;
      };
      expect(reply.response_type).toBe('ephemeral');
      const link = /(http:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]{43})/.exec(reply.text)?.[1];
      expect(link, reply.text).toBeDefined();
      expect(reply.text).toContain('Open it within 120 s; it works once and the session lasts up to 15 min.');
      expect(reply.text.split(link!)).toHaveLength(2);
      // The icon browsers ask for beside the page is answered here, not by the Slack listener (401).
      expect((await http(`${base}/favicon.ico`)).status).toBe(204);
      const page = await http(link!);
      expect(page.status).toBe(200);
      expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
      const session = await http(`${link}/session`, { method: 'POST', origin: base });
      expect(session.status).toBe(200);
      const { sessionId } = JSON.parse(session.body) as { sessionId: string };
      const viewer = await openViewer(`ws://127.0.0.1:${port}/console/ws/lab/100/${sessionId}`, base);
      if (!('ws' in viewer)) throw new Error(`WebSocket refused: ${viewer.status}`);
      expect((await viewerHandshake(viewer)).name).toBe('dns');
      viewer.ws.close();
      await viewer.closed;
    } finally {
      expect(await stopLab(child)).toBe(0);
    }
  }, 120_000);

  it('prints the link from lab myvm console, and says what to set when console.publicUrl is missing', async () => {
    const run = await runLab(['--config', join(dir, 'lab.config.json'), 'myvm', 'console', '--as', 'alice'], {
      cwd: dir,
    });
    expect(run.stdout).toMatch(/^Console of dns \(100\): http:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]{43}\n/);
    const missing = await runLab(['--config', join(dir, 'no-console.json'), 'myvm', 'console', '--as', 'alice'], {
      cwd: dir,
    });
    expect(`${missing.stdout}${missing.stderr}`).toContain(
      "The browser console is not set up here; an admin must set console.publicUrl in lab.config.json (the bot's public HTTPS address).",
    );
    expect(missing.code).not.toBe(0);
  }, 60_000);
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import type { VmInventoryRecord } from '@lab/proxmox-sdk';
import { loadLabConfig, openLabRuntime } from '../src/index.js';
import { serveBot } from '../src/serve-bot.js';
import { runLab } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-serve-dm-'));
let sim: PveSim;
const fakes: Server[] = [];
const slackCalls: Array<{ path: string; body: string }> = [];
const discordCalls: Array<{ path: string; body: string }> = [];

/** A loopback stand-in for a chat API that records each request and answers with `answer(path)`. */
async function fakeApi(calls: Array<{ path: string; body: string }>, answer: (path: string) => unknown) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(req.url ?? '')));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fakes.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => new Promise((r) => f.close(r))));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a lab serve process sends direct messages on every configured platform', () => {
  it('the Discord process holding the scheduler lease warns a Slack-only student on Slack and a Discord-only one on Discord', async () => {
    const slack = await fakeApi(slackCalls, (path) =>
      path.includes('conversations.open') ? { ok: true, channel: { id: 'DDAVE' } } : { ok: true, ts: '1.1' },
    );
    const discord = await fakeApi(discordCalls, (path) =>
      path.endsWith('/users/@me/channels') ? { id: 'dm-erin', type: 1 } : { id: '42' },
    );
    const configFile = join(dir, 'lab.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        store: `sqlite:${join(dir, 'lab.db')}`,
        clusters: [
          { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
        ],
        sync: { enabled: false },
        slack: { signingSecret: 'dm-secret', botToken: 'xoxb-dm', apiUrl: `${slack}/api/` },
        discord: {
          mode: 'http',
          applicationId: '123456789012345678',
          publicKey: 'a'.repeat(64),
          token: 'discord-bot-token',
          apiUrl: `${discord}/api`,
        },
      }),
    );
    const runtime = await openLabRuntime(loadLabConfig(configFile, {}), { runSync: true });
    const { store } = runtime;
    const now = Date.now();
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
    await store.usage.savePolicy({
      classId: 'cs101',
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: null,
    });
    const students = [
      { username: 'dave', platform: 'slack' as const, externalId: 'UDAVE', vmid: 500 },
      { username: 'erin', platform: 'discord' as const, externalId: '2002', vmid: 501 },
    ];
    const row = (vmid: number, name: string): VmInventoryRecord => ({
      clusterId: 'lab',
      vmid,
      name,
      node: 'pve1',
      status: 'running',
      ip: null,
      type: 'qemu',
      category: 'linux',
      memory: 1024,
      cores: 1,
      diskSize: null,
      uptime: 3600,
      cpuUsage: 0,
      memoryUsage: 0,
      isTemplate: false,
      tags: 'lab;class-cs101;role-student',
      rdpAvailable: false,
      sshAvailable: false,
      lastUpdated: now,
      lastStatusCheck: null,
      syncError: null,
      goneAt: null,
    });
    await store.inventory.upsertMany(students.map((s) => row(s.vmid, `cs101-${s.username}`)));
    for (const s of students) {
      const person = await store.classes.createPerson(
        { username: s.username, displayName: s.username, role: 'student' },
        now,
      );
      await store.classes.linkIdentity({ personId: person.id, platform: s.platform, externalId: s.externalId });
      await store.classes.assignVm(
        { clusterId: 'lab', vmid: s.vmid, personId: person.id, classId: 'cs101', role: 'student' },
        now,
      );
      // Idle for an hour already: the first scheduler round warns.
      await store.usage.saveIdle({
        clusterId: 'lab',
        vmid: s.vmid,
        idleSince: now - 3_600_000,
        warnedAt: null,
        keptAt: null,
        keepsUsed: 0,
      });
    }
    const served = await serveBot(runtime, 'discord', { port: 0 });
    try {
      const posted = () => slackCalls.filter((c) => c.path.endsWith('/chat.postMessage'));
      const dms = () => discordCalls.filter((c) => c.path.endsWith('/channels/dm-erin/messages'));
      await eventually(() => posted().length > 0 && dms().length > 0);
      expect(slackCalls.find((c) => c.path.endsWith('/conversations.open'))?.body).toContain('UDAVE');
      expect(decodeURIComponent(posted()[0]!.body.replace(/\+/g, ' '))).toContain(
        'cs101-dave has been idle for 30 min and will stop in 10 min.',
      );
      expect(discordCalls.find((c) => c.path.endsWith('/users/@me/channels'))?.body).toContain('2002');
      expect(dms()[0]!.body).toContain('cs101-erin has been idle for 30 min and will stop in 10 min.');
      expect(await store.usage.idle('lab', 500)).toMatchObject({ warnedAt: expect.any(Number) });
    } finally {
      await served.shutdown();
    }
  });
  it('a one-shot lab people approve tells the student on Slack with the configured bot token', async () => {
    const calls: Array<{ path: string; body: string }> = [];
    const slack = await fakeApi(calls, (path) =>
      path.includes('conversations.open') ? { ok: true, channel: { id: 'DSTUDENT' } } : { ok: true, ts: '1.1' },
    );
    const configFile = join(dir, 'approve.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        store: `sqlite:${join(dir, 'approve.db')}`,
        clusters: [
          { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
        ],
        sync: { enabled: false },
        slack: { signingSecret: 'approve-secret', botToken: 'xoxb-approve', apiUrl: `${slack}/api/` },
      }),
    );
    const runtime = await openLabRuntime(loadLabConfig(configFile, {}));
    const { store } = runtime;
    const now = Date.now();
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
    const st = await store.classes.createPerson({ username: 'st03', displayName: 'St 03', role: 'student' }, now);
    await store.classes.addMember({ classId: 'cs101', personId: st.id, role: 'student' });
    const invite = await runtime.router.invoke({
      platform: 'cli',
      userId: 'root',
      operator: true,
      command: 'lab',
      subcommand: 'invite',
      options: { class: 'cs101' },
    });
    const code = (invite.data as { code: string }).code;
    const asked = await runtime.router.invoke({
      platform: 'slack',
      userId: 'U0ST03',
      command: 'lab',
      subcommand: 'join',
      options: { code, username: 'st03' },
    });
    const request = (asked.data as { request: string }).request;
    await runtime.close();
    const approved = await runLab(['--config', configFile, 'people', 'approve', request], { cwd: dir });
    expect(approved.code, approved.stderr).toBe(0);
    expect(calls.some((c) => c.path.includes('conversations.open') && c.body.includes('U0ST03'))).toBe(true);
    expect(calls.some((c) => c.path.includes('chat.postMessage') && c.body.includes('st03'))).toBe(true);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { ClassScheduler, ProxmoxClient, SyncEngine, VmPower, type Clock, type PersonNotifier } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { presets, startPveSim } from '@lab/pve-sim';
import { createSlackPersonNotifier } from '../src/index.js';

const calls: Array<{ path: string; body: Record<string, string> }> = [];
let fakeSlack: Server;
let url: string;

beforeAll(async () => {
  fakeSlack = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw || '{}') as Record<string, string>) : Object.fromEntries(new URLSearchParams(raw));
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/api/conversations.open')) return res.end(JSON.stringify({ ok: true, channel: { id: `D0${body.users}` } }));
      res.end(JSON.stringify({ ok: true, ts: '1700000000.000001' }));
    });
  });
  await new Promise<void>((r) => fakeSlack.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}/api/`;
});
afterAll(() => new Promise((r) => fakeSlack.close(r)));

describe('Slack direct messages', () => {
  it('opens a DM with the person’s Slack account and posts the idle warning there; a person without one is not reached', async () => {
    const store = createMemoryStore();
    const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, 1);
    const bob = await store.classes.createPerson({ username: 'bob', displayName: 'Bob', role: 'student' }, 1);
    await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
    await store.classes.linkIdentity({ personId: bob.id, platform: 'discord', externalId: '1234' });
    const notifier = createSlackPersonNotifier({ client: new webApi.WebClient('xoxb-test', { slackApiUrl: url, retryConfig: { retries: 0 } }), store });
    const text = 'cs101-alice has been idle for 30 min and will stop in 10 min. /myvm keep to keep it running.';
    expect(await notifier.notifyPerson({ personId: alice.id, username: 'alice' }, text)).toBe(true);
    expect(calls.map((c) => c.path)).toEqual(['/api/conversations.open', '/api/chat.postMessage']);
    expect(calls[0]!.body).toMatchObject({ users: 'UALICE' });
    expect(calls[1]!.body).toMatchObject({ channel: 'D0UALICE', text });
    expect(await notifier.notifyPerson({ personId: bob.id, username: 'bob' }, text)).toBe(false);
    expect(calls).toHaveLength(2);
  });
});

describe('idle warning in Slack', () => {
  it('reaches the student of an idle VM as a Slack DM, and the VM stops 10 min later', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [...scenario.guests!, { vmid: 300, node: 'pve1', name: 'cs101-alice', status: 'stopped' as const, memory: 1024, cores: 1, disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } } }];
    const sim = await startPveSim({ timeScale: 100, scenario });
    const pve = new ProxmoxClient({ clusterId: 'lab1', baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint } });
    try {
      let now = Date.parse('2026-12-01T10:00:00Z');
      const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
      const clusters = { get: () => pve, ids: () => ['lab1'] };
      const store = createMemoryStore();
      const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } });
      await sync.quickSync();
      await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, now);
      await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'UALICE' });
      await store.classes.assignVm({ clusterId: 'lab1', vmid: 300, personId: alice.id, classId: 'cs101', role: 'student' }, now);
      await store.usage.savePolicy({ classId: 'cs101', quotaHours: null, maxRunning: null, maxRunningInClass: null, idleCpuBelowPercent: 5, idleForMinutes: 30 });
      await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform({ personId: null, username: 'root', role: 'admin' }, 'lab1', 300, 'start');
      sim.state.guests.get(300)!.cpuLoad = 0.01;
      const notifier: PersonNotifier = createSlackPersonNotifier({ client: new webApi.WebClient('xoxb-test', { slackApiUrl: url, retryConfig: { retries: 0 } }), store });
      const scheduler = new ClassScheduler({ store, clusters, clock, notifier, pollIntervalMs: 20, shutdownTimeoutS: 5 });
      calls.length = 0;
      const tick = async (iso: string) => {
        now = Date.parse(iso);
        await sync.quickSync();
        return (await scheduler.runOnce()).map((a) => a.action);
      };
      expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
      expect(await tick('2026-12-01T10:31:00Z')).toEqual(['idle-warning']);
      expect(calls.filter((c) => c.path === '/api/chat.postMessage').map((c) => c.body.text)).toEqual(['cs101-alice has been idle for 30 min and will stop in 10 min. /myvm keep to keep it running.']);
      expect(await tick('2026-12-01T10:41:00Z')).toEqual(['idle-shutdown']);
      expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'stopped' });
    } finally {
      await pve.close();
      await sim.close();
    }
  }, 30_000);
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST } from 'discord.js';
import { ClassScheduler, ProxmoxClient, SyncEngine, VmPower, type Clock, type PersonNotifier } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { presets, startPveSim } from '@lab/pve-sim';
import { createDiscordPersonNotifier } from '../src/index.js';

const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];
let fakeDiscord: Server;
let api: string;

beforeAll(async () => {
  fakeDiscord = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', path: req.url ?? '', body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.endsWith('/users/@me/channels')) return res.end(JSON.stringify({ id: 'dm-77', type: 1 }));
      res.end(JSON.stringify({ id: '42' }));
    });
  });
  await new Promise<void>((r) => fakeDiscord.listen(0, '127.0.0.1', () => r()));
  api = `http://127.0.0.1:${(fakeDiscord.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise((r) => fakeDiscord.close(r)));

describe('Discord direct messages', () => {
  it('opens a DM channel with the person’s Discord account and posts the idle warning there; a person without one is not reached', async () => {
    const store = createMemoryStore();
    const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, 1);
    const bob = await store.classes.createPerson({ username: 'bob', displayName: 'Bob', role: 'student' }, 1);
    await store.classes.linkIdentity({ personId: alice.id, platform: 'discord', externalId: '1001' });
    await store.classes.linkIdentity({ personId: bob.id, platform: 'slack', externalId: 'UBOB' });
    const notifier = createDiscordPersonNotifier({ rest: new REST({ api, retries: 0 }).setToken('bot-token-for-tests'), store });
    const text = 'cs101-alice has been idle for 30 min and will stop in 10 min. /myvm keep to keep it running.';
    expect(await notifier.notifyPerson({ personId: alice.id, username: 'alice' }, text)).toBe(true);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/v10/users/@me/channels', 'POST /api/v10/channels/dm-77/messages']);
    expect(calls[0]!.body).toEqual({ recipient_id: '1001' });
    expect(calls[1]!.body).toMatchObject({ content: text });
    expect(await notifier.notifyPerson({ personId: bob.id, username: 'bob' }, text)).toBe(false);
    expect(calls).toHaveLength(2);
  });
});

describe('idle warning in Discord', () => {
  it('reaches the student of an idle VM as a Discord DM, and the VM stops 10 min later', async () => {
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
      await store.classes.linkIdentity({ personId: alice.id, platform: 'discord', externalId: '1001' });
      await store.classes.assignVm({ clusterId: 'lab1', vmid: 300, personId: alice.id, classId: 'cs101', role: 'student' }, now);
      await store.usage.savePolicy({ classId: 'cs101', quotaHours: null, maxRunning: null, maxRunningInClass: null, idleCpuBelowPercent: 5, idleForMinutes: 30 });
      await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform({ personId: null, username: 'root', role: 'admin' }, 'lab1', 300, 'start');
      sim.state.guests.get(300)!.cpuLoad = 0.01;
      const notifier: PersonNotifier = createDiscordPersonNotifier({ rest: new REST({ api, retries: 0 }).setToken('bot-token-for-tests'), store });
      const scheduler = new ClassScheduler({ store, clusters, clock, notifier, pollIntervalMs: 20, shutdownTimeoutS: 5 });
      calls.length = 0;
      const tick = async (iso: string) => {
        now = Date.parse(iso);
        await sync.quickSync();
        return (await scheduler.runOnce()).map((a) => a.action);
      };
      expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
      expect(await tick('2026-12-01T10:31:00Z')).toEqual(['idle-warning']);
      expect(calls.filter((c) => c.path === '/api/v10/channels/dm-77/messages').map((c) => c.body.content)).toEqual(['cs101-alice has been idle for 30 min and will stop in 10 min. /myvm keep to keep it running.']);
      expect(await tick('2026-12-01T10:41:00Z')).toEqual(['idle-shutdown']);
      expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'stopped' });
    } finally {
      await pve.close();
      await sim.close();
    }
  }, 30_000);
});

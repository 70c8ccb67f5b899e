import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST } from 'discord.js';
import { createMemoryStore } from '@lab/proxmox-sdk';
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

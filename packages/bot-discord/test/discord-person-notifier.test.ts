import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { REST } from 'discord.js';
import { createDiscordPersonNotifier } from '../src/index.js';
import { describePersonNotifierConformance } from '@lab/proxmox-sdk/testing';

const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];
let fakeDiscord: Server;
let api: string;

beforeAll(async () => {
  fakeDiscord = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.endsWith('/users/@me/channels')) return res.end(JSON.stringify({ id: 'dm-77', type: 1 }));
      res.end(JSON.stringify({ id: '42' }));
    });
  });
  await new Promise<void>((r) => fakeDiscord.listen(0, '127.0.0.1', () => r()));
  api = `http://127.0.0.1:${(fakeDiscord.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise((r) => fakeDiscord.close(r)));

describePersonNotifierConformance('Discord', () => ({
  platform: 'discord',
  accountId: '1001',
  notifier: (store) =>
    createDiscordPersonNotifier({ rest: new REST({ api, retries: 0 }).setToken('bot-token-for-tests'), store }),
  requests: () => calls.map((c) => `${c.method} ${c.path}`),
  dmRequests: ['POST /api/v10/users/@me/channels', 'POST /api/v10/channels/dm-77/messages'],
  recipients: () =>
    calls.filter((c) => c.path === '/api/v10/users/@me/channels').map((c) => String(c.body.recipient_id)),
  postedTexts: () =>
    calls.filter((c) => c.path === '/api/v10/channels/dm-77/messages').map((c) => String(c.body.content)),
  clear: () => void (calls.length = 0),
}));

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { createMemoryStore } from '@lab/proxmox-sdk';
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

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { webApi } from '@slack/bolt';
import { createSlackPersonNotifier } from '../src/index.js';
import { describePersonNotifierConformance } from '@lab/proxmox-sdk/testing';

const calls: Array<{ path: string; body: Record<string, string> }> = [];
let fakeSlack: Server;
let url: string;

beforeAll(async () => {
  fakeSlack = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(raw || '{}') as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(raw));
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/api/conversations.open'))
        return res.end(JSON.stringify({ ok: true, channel: { id: `D0${body.users}` } }));
      res.end(JSON.stringify({ ok: true, ts: '1700000000.000001' }));
    });
  });
  await new Promise<void>((r) => fakeSlack.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}/api/`;
});
afterAll(() => new Promise((r) => fakeSlack.close(r)));

describePersonNotifierConformance('Slack', () => ({
  platform: 'slack',
  accountId: 'UALICE',
  notifier: (store) =>
    createSlackPersonNotifier({
      client: new webApi.WebClient('xoxb-test', { slackApiUrl: url, retryConfig: { retries: 0 } }),
      store,
    }),
  requests: () => calls.map((c) => `POST ${c.path}`),
  dmRequests: ['POST /api/conversations.open', 'POST /api/chat.postMessage'],
  recipients: () => calls.filter((c) => c.path === '/api/conversations.open').map((c) => c.body.users!),
  postedTexts: () =>
    calls.filter((c) => c.path === '/api/chat.postMessage' && c.body.channel === 'D0UALICE').map((c) => c.body.text!),
  clear: () => void (calls.length = 0),
}));

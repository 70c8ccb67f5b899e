import * as commands from '@lab/commands';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackBot, signSlackRequest, type SlackBot } from '../src/index.js';
import { ids, lab } from '../../commands/test/lab-fixture.js';

const SECRET = 'slack-signing-secret-for-tests';
let env: Awaited<ReturnType<typeof lab<commands.CommandRouter, commands.LabServices>>>;
let bot: SlackBot;
let botServer: Server;
let fakeSlack: Server;
let botUrl: string;
let slackUrl: string;
const calls: Array<{ path: string; body: Record<string, unknown> }> = [];

function listen(server: Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** A loopback stand-in for Slack's Web API and response_url that records what the bot sends. */
function fakeSlackApi(): Server {
  let ts = 0;
  return createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw || '{}') as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/api/chat.postMessage')) res.end(JSON.stringify({ ok: true, channel: body.channel, ts: `1700000000.${String(++ts).padStart(6, '0')}` }));
      else if (req.url?.startsWith('/api/')) res.end(JSON.stringify({ ok: true }));
      else res.end('ok');
    });
  });
}

function slash(command: string, text: string, userId: string, options: { headers?: Record<string, string>; timestampS?: number } = {}): Promise<{ status: number; ms: number; body: string }> {
  const body = new URLSearchParams({ command, text, user_id: userId, user_name: 'x', channel_id: 'C0CLASS', team_id: 'T0SCHOOL', response_url: `${slackUrl}/respond/${Date.now()}`, trigger_id: '1.2.3', token: 'legacy', api_app_id: 'A0LAB' }).toString();
  const started = Date.now();
  const signed = signSlackRequest(SECRET, body, options.timestampS);
  return new Promise((resolve, reject) => {
    const req = request(`${botUrl}/slack/events`, { method: 'POST', headers: { ...signed, ...options.headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  env = await lab<commands.CommandRouter, commands.LabServices>(commands);
  fakeSlack = fakeSlackApi();
  slackUrl = await listen(fakeSlack);
  bot = createSlackBot({ router: env.router, signingSecret: SECRET, botToken: 'xoxb-test', slackApiUrl: `${slackUrl}/api/`, progressIntervalMs: 0 });
  botServer = createServer(bot.requestListener);
  botUrl = await listen(botServer);
});
afterAll(async () => {
  await bot.idle();
  await new Promise((r) => botServer.close(r));
  await new Promise((r) => fakeSlack.close(r));
  await env.close();
});

describe('the Slack bot over HTTP', () => {
  it('acks a signed /lab deploy from a teacher within 3 s, then edits one message with progress up to a summary', async () => {
    const response = await slash('/lab', 'deploy cs101 3 ubuntu', ids.teacher);
    expect(response.status).toBe(200);
    expect(response.ms).toBeLessThan(3000);
    await bot.idle();
    const posts = calls.filter((c) => c.path.startsWith('/api/chat.postMessage'));
    const updates = calls.filter((c) => c.path.startsWith('/api/chat.update'));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({ channel: 'C0CLASS' });
    expect(String(posts[0]!.body.text)).toMatch(/^cs101 ░+ 0\/5/);
    expect(updates.length).toBeGreaterThan(2);
    expect(updates.every((u) => u.body.ts === '1700000000.000001')).toBe(true);
    expect(updates.some((u) => /^cs101 ▓+░* \d\/5/.test(String(u.body.text)))).toBe(true);
    expect(String(updates.at(-1)!.body.text)).toMatch(/^cs101: 5 created, 0 kept, 0 deleted in/);
    const vms = await env.services.store.classes.assignmentsOfClass('cs101');
    expect(vms.filter((a) => a.role === 'student')).toHaveLength(3);
  });

  it('answers personal data ephemerally through response_url', async () => {
    calls.length = 0;
    const response = await slash('/myvm', 'status', ids.alice);
    expect(response.status).toBe(200);
    await bot.idle();
    const replies = calls.filter((c) => c.path.startsWith('/respond/'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(replies[0]!.body.text)).toMatch(/^cs101-alice \(\d+\) on pve\d: stopped/);
  });

  it('refuses a forged signature, a replayed request and a future timestamp with 401, changing nothing', async () => {
    calls.length = 0;
    const clones = env.sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone');
    const forged = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, { headers: { 'x-slack-signature': 'v0=0000000000000000000000000000000000000000000000000000000000000000' } });
    expect(forged.status).toBe(401);
    // Correctly signed, but ten minutes old (a replay) or ten minutes ahead (Bolt alone would accept it).
    const replayed = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, { timestampS: Math.floor(Date.now() / 1000) - 600 });
    expect(replayed.status).toBe(401);
    const fromTheFuture = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, { timestampS: Math.floor(Date.now() / 1000) + 600 });
    expect(fromTheFuture.status).toBe(401);
    expect(fromTheFuture.body).toBe('invalid request timestamp');
    await bot.idle();
    expect(calls).toEqual([]);
    expect(env.sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(clones);
  });

  it('puts a destructive command behind a Confirm button', async () => {
    calls.length = 0;
    await slash('/lab', 'destroy cs101', ids.teacher);
    await bot.idle();
    const ask = calls.find((c) => c.path.startsWith('/respond/'))!;
    expect(ask.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(ask.body.blocks)).toContain('"action_id":"lab_confirm"');
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);
  });
});

import * as commands from '@lab/commands';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackBot, signSlackRequest, type SlackBot } from '../src/index.js';
import { startTestLab, testLabIds as ids } from '@lab/proxmox-sdk/testing';
import { net0Bridge } from '@lab/proxmox-sdk/network';

const SECRET = 'slack-signing-secret-for-tests';
let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let bot: SlackBot;
let botServer: Server;
let fakeSlack: Server;
let botUrl: string;
let slackUrl: string;
let triggers = 0;
const calls: Array<{ path: string; body: Record<string, unknown> }> = [];

function listen(server: Server): Promise<string> {
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** A loopback stand-in for Slack's Web API and response_url that records what the bot sends. */
function fakeSlackApi(): Server {
  let ts = 0;
  return createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(raw || '{}') as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(raw));
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/api/chat.postMessage'))
        res.end(JSON.stringify({ ok: true, channel: body.channel, ts: `1700000000.${String(++ts).padStart(6, '0')}` }));
      else if (req.url?.startsWith('/api/')) res.end(JSON.stringify({ ok: true }));
      else res.end('ok');
    });
  });
}

/** A slash command as Slack posts it, signed with the app's signing secret. */
function slash(command: string, text: string, userId: string): Promise<number> {
  const body = new URLSearchParams({
    command,
    text,
    user_id: userId,
    user_name: 'x',
    channel_id: 'C0CLASS',
    team_id: 'T0SCHOOL',
    response_url: `${slackUrl}/respond/${++triggers}`,
    trigger_id: `${triggers}.2.3`,
    token: 'legacy',
    api_app_id: 'A0LAB',
  }).toString();
  const headers = { ...signSlackRequest(SECRET, body), 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(`${botUrl}/slack/events`, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  // The lab's `sdn` settings, as lab.config.json gives them: private networks can be built.
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands, { sdn: { prefix: 'lab' } });
  await env.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  fakeSlack = fakeSlackApi();
  slackUrl = await listen(fakeSlack);
  bot = createSlackBot({
    router: env.router,
    signingSecret: SECRET,
    botToken: 'xoxb-test',
    slackApiUrl: `${slackUrl}/api/`,
    progressIntervalMs: 0,
  });
  botServer = createServer(bot.requestListener);
  botUrl = await listen(botServer);
});
afterAll(async () => {
  await bot.idle();
  await new Promise((r) => botServer.close(r));
  await new Promise((r) => fakeSlack.close(r));
  await env.close();
});

describe('a lab with two roles per student through signed Slack requests', () => {
  it('/class set-lab --network student then /lab deploy give each student one VM per role on their own network', async () => {
    expect(
      await slash('/class', 'set-lab cs101 attacker=ubuntu target=windows:1:1024 --network student', ids.teacher),
    ).toBe(200);
    await bot.idle();
    const set = calls.find((c) => c.path.startsWith('/api/chat.postMessage'))!;
    expect(String(set.body.text)).toMatch(
      /^cs101: each student gets 2 VM\(s\):\n• attacker: ubuntu\n• target: windows/,
    );
    expect((await env.services.store.labDefinitions.get('cs101'))?.network.mode).toBe('student');

    calls.length = 0;
    expect(await slash('/lab', 'deploy cs101 2', ids.teacher)).toBe(200);
    await bot.idle();
    const chat = calls.filter((c) => c.path.startsWith('/api/chat.')).map((c) => String(c.body.text));
    expect(chat.at(-1)).toMatch(
      /^attacker: cs101: 4 created, 0 kept, 0 deleted in [\d.]+ s\.\ntarget: cs101: \d+ created/,
    );
    const names = [...env.sim.state.guests.values()]
      .filter((g) => (g.config.tags ?? '').includes('role-student'))
      .map((g) => g.config.name)
      .sort();
    expect(names).toEqual(['cs101-alice-attacker', 'cs101-alice-target', 'cs101-bob-attacker', 'cs101-bob-target']);
    expect(chat.at(-1)).toContain(
      'Networks: 3 private networks (one per seated student, one for the teacher VMs) in zone labzone, with internet (SNAT).',
    );
    // Each student's two VMs on that student's VNet, per the store's records and the VMs' config in PVE.
    // (and the teacher VMs on the teachers' own, `@teachers`)
    const vnets = (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter(
      (r) => r.kind === 'vnet' && r.student !== '@teachers',
    );
    expect(vnets.map((r) => r.student).sort()).toEqual(['alice', 'bob']);
    expect(new Set(vnets.map((r) => r.objectId)).size).toBe(2);
    for (const r of vnets)
      for (const g of [...env.sim.state.guests.values()].filter((g) =>
        g.config.name?.startsWith(`cs101-${r.student}-`),
      ))
        expect(net0Bridge(g.config.net0), g.config.name).toBe(r.objectId);

    calls.length = 0;
    expect(await slash('/lab', 'destroy cs101', ids.teacher)).toBe(200);
    await bot.idle();
    expect(calls.some((c) => JSON.stringify(c.body).includes('Destroy cs101'))).toBe(true);
  });
});

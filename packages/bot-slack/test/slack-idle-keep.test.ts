import * as commands from '@lab/commands';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '@lab/proxmox-sdk';
import { createSlackBot, createSlackPersonNotifier, signSlackRequest, type SlackBot } from '../src/index.js';
import { startTestLab as lab, testLabIds as ids } from '@lab/proxmox-sdk/testing';

const SECRET = 'slack-signing-secret-for-tests';
/** Minutes the test has moved the lab's clock ahead of the real one (request signatures stay real). */
let shiftMs = 0;
const clock: Clock = { now: () => Date.now() + shiftMs, sleep: systemClock.sleep };
let env: Awaited<ReturnType<typeof lab<commands.CommandRouter, commands.LabServices>>>;
let bot: SlackBot;
let botServer: Server;
let fakeSlack: Server;
let botUrl: string;
let slackUrl: string;
const calls: Array<{ path: string; body: Record<string, unknown> }> = [];
let triggers = 0;

const listen = (server: Server): Promise<string> =>
  new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );

beforeAll(async () => {
  env = await lab<commands.CommandRouter, commands.LabServices>(commands, { clock });
  fakeSlack = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(raw || '{}') as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(raw));
      calls.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/api/conversations.open'))
        return res.end(JSON.stringify({ ok: true, channel: { id: `D0${String(body.users)}` } }));
      res.end(JSON.stringify({ ok: true, ts: '1700000000.000001' }));
    });
  });
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
  // What `lab serve` does: the scheduler's direct messages go out through the bot's Slack client.
  env.services.scheduler!.useNotifier(createSlackPersonNotifier({ client: bot.app.client, store: env.services.store }));
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
}, 60_000);
afterAll(async () => {
  await bot.idle();
  await new Promise((r) => botServer.close(r));
  await new Promise((r) => fakeSlack.close(r));
  await env.close();
});

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
  return new Promise((resolve, reject) => {
    const req = request(
      `${botUrl}/slack/events`,
      {
        method: 'POST',
        headers: { ...signSlackRequest(SECRET, body), 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('idle warning and /myvm keep in Slack', () => {
  it('DMs both idle students, keeps the VM of the one who answered /myvm keep in Slack, and stops the other after the class’s warning delay', async () => {
    const { store, sync, scheduler, power } = env.services;
    await store.usage.savePolicy({
      classId: 'cs101',
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: 5,
    });
    const vmOf = async (username: string) =>
      (await store.classes.assignmentsOf((await store.classes.getPersonByUsername(username))!.id)).find(
        (a) => a.classId === 'cs101',
      )!.vmid;
    const [alice, bob] = [await vmOf('alice'), await vmOf('bob')];
    for (const vmid of [alice, bob]) {
      await power.perform({ personId: null, username: 'root', role: 'admin' }, 'lab', vmid, 'start');
      env.sim.state.guests.get(vmid)!.cpuLoad = 0.01;
    }
    const tick = async (minutes: number) => {
      shiftMs = minutes * 60_000;
      await sync!.quickSync();
      return (await scheduler!.runOnce()).map((a) => [a.vmid, a.action, a.outcome]);
    };
    const dms = () => calls.filter((c) => c.path === '/api/chat.postMessage').map((c) => [c.body.channel, c.body.text]);
    expect(await tick(1)).toEqual([]);
    calls.length = 0;
    expect(await tick(32)).toEqual([
      [alice, 'idle-warning', 'ok'],
      [bob, 'idle-warning', 'ok'],
    ]);
    expect(dms()).toEqual([
      [
        `D0${ids.alice}`,
        'cs101-alice has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
      [
        `D0${ids.bob}`,
        'cs101-bob has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
    ]);
    shiftMs = 34 * 60_000;
    calls.length = 0;
    expect(await slash('/myvm', `keep ${bob}`, ids.bob)).toBe(200);
    await bot.idle();
    const reply = calls.find((c) => c.path.startsWith('/respond/'))!;
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(reply.body.text)).toBe(
      'cs101-bob keeps running; its idle stop is cancelled. If it stays idle, you will be warned again. You can keep it no more times this session.',
    );
    expect(await tick(36)).toEqual([]);
    expect(await tick(37)).toEqual([[alice, 'idle-shutdown', 'ok']]);
    expect(env.sim.state.guests.get(alice)!.status).toBe('stopped');
    expect(env.sim.state.guests.get(bob)!.status).toBe('running');
    expect((await store.audit.list({ actor: 'bob', action: 'vm.keep' })).map((e) => e.target)).toEqual([`lab/${bob}`]);
  }, 60_000);
});

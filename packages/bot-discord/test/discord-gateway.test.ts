import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as commands from '@lab/commands';
import { attachDiscordGatewayBot } from '../src/index.js';
import { startTestLab } from '@lab/proxmox-sdk/testing';

const APP = '333333333333333333';
let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let fake: Server;
let client: Client;
let bot: ReturnType<typeof attachDiscordGatewayBot>;
const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];

/** Feeds a raw gateway interaction to discord.js, which builds the real interaction object (internal API, pinned to v14). */
function dispatch(raw: object): void {
  (
    client as unknown as { actions: { InteractionCreate: { handle: (d: object) => void } } }
  ).actions.InteractionCreate.handle(raw);
}

let interactionIds = 5000;
const chatInput = (
  userId: string,
  command: string,
  sub: string,
  options: Array<{ name: string; value: unknown; type: number }>,
  token: string,
) => ({
  id: String(++interactionIds),
  application_id: APP,
  type: 2,
  token,
  version: 1,
  locale: 'en-US',
  channel_id: '444',
  app_permissions: '0',
  entitlements: [],
  authorizing_integration_owners: {},
  context: 1,
  user: { id: userId, username: 'student', discriminator: '0', avatar: null, global_name: null },
  data: { id: '555', name: command, type: 1, options: [{ type: 1, name: sub, options }] },
});

beforeAll(async () => {
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands);
  fake = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      if (req.method === 'POST' && req.url?.includes('/callback')) res.writeHead(204).end();
      else if (req.method === 'DELETE') res.writeHead(204).end();
      else
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: '9',
            channel_id: '444',
            content: '',
            author: { id: APP, username: 'lab', discriminator: '0', avatar: null },
            attachments: [],
            embeds: [],
            mentions: [],
            mention_roles: [],
            pinned: false,
            mention_everyone: false,
            tts: false,
            timestamp: new Date().toISOString(),
            edited_timestamp: null,
            flags: 0,
            components: [],
            type: 0,
          }),
        );
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  client = new Client({
    intents: [],
    rest: { api: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/api`, retries: 0 },
  });
  client.token = 'bot-token-for-tests';
  client.rest.setToken('bot-token-for-tests');
  bot = attachDiscordGatewayBot({ client, router: env.router, progressIntervalMs: 0 });
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
});
afterAll(async () => {
  await bot.idle();
  bot.detach();
  await client.destroy();
  await new Promise((r) => fake.close(r));
  await env.close();
});

describe('the discord.js gateway bot', () => {
  it('defers /myvm status ephemerally, then edits in the answer', async () => {
    dispatch(chatInput('ualice-discord', 'myvm', 'status', [], 'gw-status'));
    await new Promise((r) => setTimeout(r, 20));
    await bot.idle();
    const defer = calls.find((c) => c.path.includes('/gw-status/callback'))!;
    expect(defer.method).toBe('POST');
    expect(defer.body).toEqual({ type: 5, data: { flags: 64 } });
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/gw-status/messages/%40original`)!;
    expect(edit.method).toBe('PATCH');
    expect(String(edit.body.content)).toMatch(/^cs101-alice \(\d+\) on pve\d: stopped/);
  });

  it('escapes markdown and pings nobody in what it sends', async () => {
    await env.services.store.classes.createPerson(
      { username: 'gwmallory', displayName: '@everyone __big__ <@123456789012345678>', role: 'student' },
      Date.now(),
    );
    dispatch(
      chatInput('uadmin-discord', 'people', 'show', [{ name: 'username', value: 'gwmallory', type: 3 }], 'gw-mallory'),
    );
    await new Promise((r) => setTimeout(r, 20));
    await bot.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/gw-mallory/messages/%40original`)!;
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(String(edit.body.content)).toContain(
      'gwmallory — @everyone \\_\\_big\\_\\_ \\<@123456789012345678>, student',
    );
  });

  it("refuses to start another student's VM", async () => {
    const aliceVm = (await env.services.store.inventory.list({ search: 'cs101-alice' }))[0]!.vmid;
    dispatch(chatInput('ubob-discord', 'myvm', 'start', [{ name: 'vm', value: String(aliceVm), type: 3 }], 'gw-bob'));
    await new Promise((r) => setTimeout(r, 20));
    await bot.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/gw-bob/messages/%40original`)!;
    expect(String(edit.body.content)).toMatch(new RegExp(`^You have no VM '${aliceVm}'`));
    expect(env.sim.state.guests.get(aliceVm)?.status).toBe('stopped');
  });

  it('answers a refusal before running privately without deferring', async () => {
    dispatch(chatInput('ubob-discord', 'lab', 'sync', [], 'gw-student-sync'));
    dispatch(chatInput('unknown-discord', 'myvm', 'status', [], 'gw-stranger'));
    await settle();
    const student = calls.filter((c) => c.path.includes('/gw-student-sync/'));
    expect(student).toHaveLength(1);
    expect(student[0]!.body).toMatchObject({
      type: 4,
      data: { content: '/lab sync is for admins; you are a student.', flags: 64 },
    });
    const stranger = calls.filter((c) => c.path.includes('/gw-stranger/'));
    expect(stranger).toHaveLength(1);
    expect(stranger[0]!.body).toMatchObject({ type: 4, data: { flags: 64 } });
  });

  it('replaces a public placeholder with an ephemeral follow-up when the plugin refuses while running', async () => {
    // hopper teaches cs202 only.
    dispatch(
      chatInput(
        'uteach2-discord',
        'lab',
        'deploy',
        [
          { name: 'class', value: 'cs101', type: 3 },
          { name: 'count', value: 1, type: 4 },
        ],
        'gw-other-class',
      ),
    );
    await settle();
    const sent = calls.filter((c) => c.path.includes('/gw-other-class'));
    expect(sent.map((c) => `${c.method} ${c.path.replace(/\?.*$/, '')}`)).toEqual([
      'POST /api/v10/interactions/' + sent[0]!.path.split('/')[4] + '/gw-other-class/callback',
      `DELETE /api/v10/webhooks/${APP}/gw-other-class/messages/%40original`,
      `POST /api/v10/webhooks/${APP}/gw-other-class`,
    ]);
    expect(sent[0]!.body).toEqual({ type: 5, data: { flags: 0 } });
    expect(sent[2]!.body).toMatchObject({ flags: 64 });
    expect(String(sent[2]!.body.content)).toMatch(/cs101/);
  });

  it('runs a replayed interaction only once', async () => {
    const raw = chatInput('ualice-discord', 'myvm', 'status', [], 'gw-replay');
    dispatch(raw);
    await settle();
    dispatch(raw);
    await settle();
    expect(calls.filter((c) => c.path.includes('/gw-replay/callback'))).toHaveLength(1);
  });
});

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
  await bot.idle();
}

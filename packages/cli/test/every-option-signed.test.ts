import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins, CommandRouter, createLabServices, type CommandPlugin, type LabServices } from '@lab/commands';
import { createSlackBot, type SlackBot } from '@lab/bot-slack';
import { createDiscordInteractions, discordCommandDefinitions, type DiscordInteractions } from '@lab/bot-discord';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { everyOption, slackText, type OptionCase } from './option-samples.js';

// Every option of every built-in command, with a value built from its zod schema, sent as a signed
// request through each platform's real path (Slack: HMAC-signed slash command through Bolt; Discord:
// Ed25519-signed interaction typed as the registered command definition types it). The command
// handlers are replaced by recorders, so what is checked is exactly what a handler receives.

const SECRET = 'every-option-signing-secret';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
const APP = '222222222222222222';
const SLACK_ADMIN = 'UOPTADMIN';
const DISCORD_ADMIN = '333333333333333333';

/** What the last run handler received: `command subcommand` and its parsed options. */
let received: { command: string; options: Record<string, unknown> } | undefined;
/** Text of what the bots sent back, to explain a case whose handler never ran. */
const sent: string[] = [];
const servers: Server[] = [];
let services: LabServices;
let slack: SlackBot;
let discord: DiscordInteractions;
let slackUrl: string;
let discordUrl: string;
let fakeApiUrl: string;
let deliveries = 0;

/** The built-in plugins with every handler replaced by one that records its options. */
function recordingPlugins(): CommandPlugin[] {
  return builtinPlugins.map((plugin) => ({
    ...plugin,
    subcommands: Object.fromEntries(
      Object.entries(plugin.subcommands).map(([name, sub]) => [
        name,
        {
          ...sub,
          run: async (_ctx: unknown, options: Record<string, unknown>) => {
            received = { command: `${plugin.name} ${name}`, options };
            return { text: 'recorded', ephemeral: true };
          },
        },
      ]),
    ),
  }));
}

async function serve(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Posts `body`; resolves with the status (the answer's body is kept in `sent`, to explain a failure). */
function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          if (text) sent.push(text);
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function sendSlack(command: string, text: string): Promise<number> {
  const body = new URLSearchParams({
    command: `/${command}`,
    text,
    user_id: SLACK_ADMIN,
    user_name: 'admin',
    channel_id: 'C0OPTIONS',
    team_id: 'T0SCHOOL',
    response_url: `${fakeApiUrl}/respond/${++deliveries}`,
    trigger_id: `${deliveries}.1.1`,
    token: 'legacy',
    api_app_id: 'A0LAB',
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  const status = await post(`${slackUrl}/slack/events`, body, {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': signature,
  });
  await slack.idle();
  return status;
}

/** The Discord option types the registered definitions give each subcommand's options. */
const discordTypes = new Map<string, number>();

/** A value as Discord sends an option of `type`: integers and booleans typed, the rest as the string typed. */
function discordValue(type: number, value: unknown): unknown {
  if (type === 4) return Number(value);
  if (type === 5) return value;
  return Array.isArray(value) ? value.join(' ') : String(value);
}

async function sendDiscord(c: OptionCase): Promise<number> {
  const options = Object.entries(c.values).map(([name, value]) => {
    const type = discordTypes.get(`${c.command} ${c.subcommand} ${name}`)!;
    return { name, type, value: discordValue(type, value) };
  });
  const body = JSON.stringify({
    type: 2,
    id: String(++deliveries),
    application_id: APP,
    token: `tok-${deliveries}`,
    version: 1,
    channel_id: '444',
    member: { user: { id: DISCORD_ADMIN, username: 'admin' } },
    data: { id: '2', name: c.command, type: 1, options: [{ type: 1, name: c.subcommand, options }] },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const status = await post(discordUrl, body, {
    'content-type': 'application/json',
    'x-signature-ed25519': sign(null, Buffer.from(ts + body), privateKey).toString('hex'),
    'x-signature-timestamp': ts,
  });
  await discord.idle();
  return status;
}

beforeAll(async () => {
  const store = createMemoryStore();
  services = createLabServices({
    store,
    clusters: {
      get: () => {
        throw new Error('no cluster in this test: the handlers are recorders');
      },
      ids: () => ['lab'],
    },
  });
  const admin = await store.classes.createPerson({ username: 'root', displayName: 'root', role: 'admin' }, 1);
  await store.classes.linkIdentity({ personId: admin.id, platform: 'slack', externalId: SLACK_ADMIN });
  await store.classes.linkIdentity({ personId: admin.id, platform: 'discord', externalId: DISCORD_ADMIN });
  const plugins = recordingPlugins();
  const router = new CommandRouter(services, plugins, { rateLimit: { perMinute: 100_000 } });
  for (const command of discordCommandDefinitions(plugins))
    for (const sub of command.options ?? [])
      for (const option of ('options' in sub ? sub.options : undefined) ?? [])
        discordTypes.set(`${command.name} ${sub.name} ${option.name}`, option.type);

  fakeApiUrl = await serve((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      sent.push(raw);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.url?.startsWith('/api/chat.') ? { ok: true, ts: '1.1', channel: 'C0OPTIONS' } : { ok: true, id: '42' },
        ),
      );
    });
  });
  slack = createSlackBot({ router, signingSecret: SECRET, botToken: 'xoxb-test', slackApiUrl: `${fakeApiUrl}/api/` });
  slackUrl = await serve(slack.requestListener);
  const rest = new REST({ api: `${fakeApiUrl}/api` });
  discord = createDiscordInteractions({ router, publicKey: publicHex, applicationId: APP, rest });
  discordUrl = await serve(discord.requestListener);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const cases = everyOption(builtinPlugins);
const name = (c: OptionCase) => `${c.command} ${c.subcommand} --${c.option}`;

/** Sends one case and returns what its handler received for the option (failing with the bot's answer if it never ran). */
async function deliver(send: () => Promise<number>, c: OptionCase): Promise<unknown> {
  received = undefined;
  sent.length = 0;
  expect(await send()).toBe(200);
  expect(received, `the handler of ${name(c)} did not run; the bot answered: ${sent.join(' | ')}`).toBeDefined();
  expect(received!.command).toBe(`${c.command} ${c.subcommand}`);
  return received!.options[c.option];
}

describe('every option of every command reaches its handler typed as its schema says', () => {
  it('covers every option of every built-in plugin', () => {
    const options = builtinPlugins.flatMap((p) =>
      Object.values(p.subcommands).flatMap((s) => Object.keys(s.options.shape)),
    );
    expect(cases).toHaveLength(options.length);
    expect(cases.length).toBeGreaterThan(50);
  });

  it.each(cases.map((c) => [name(c), c] as const))('Slack, as flags: %s', async (_, c) => {
    expect(await deliver(() => sendSlack(c.command, slackText(c, false)), c)).toEqual(c.expected);
  });

  it.each(cases.filter((c) => c.position >= 0).map((c) => [name(c), c] as const))(
    'Slack, as positional words: %s',
    async (_, c) => {
      expect(await deliver(() => sendSlack(c.command, slackText(c, true)), c)).toEqual(c.expected);
    },
  );

  it.each(cases.map((c) => [name(c), c] as const))('Discord, typed as registered: %s', async (_, c) => {
    expect(await deliver(() => sendDiscord(c), c)).toEqual(c.expected);
  });
});

import * as commands from '@lab/commands';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordInteractions, registerDiscordCommands, type DiscordInteractions } from '../src/index.js';
import { lab } from '../../commands/test/lab-fixture.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
const APP = '111111111111111111';
let env: Awaited<ReturnType<typeof lab<commands.CommandRouter, commands.LabServices>>>;
let endpoint: DiscordInteractions;
let botServer: Server;
let fakeDiscord: Server;
let botUrl: string;
const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];

const listen = (server: Server): Promise<string> => new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

/** Sends an interaction signed with the app's key (or a wrong one) to the bot. */
function interact(body: object, options: { key?: typeof privateKey; tamper?: boolean } = {}): Promise<{ status: number; ms: number; json: Record<string, unknown> }> {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + raw), options.key ?? privateKey).toString('hex');
  const sent = options.tamper ? raw.replace('status', 'start') : raw;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(botUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp, 'content-length': Buffer.byteLength(sent) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(sent);
  });
}

const slash = (userId: string, command: string, sub: string, options: Array<{ name: string; value: unknown; type?: number }> = [], token = `tok-${Math.random().toString(36).slice(2)}`) => ({
  type: 2, id: '1', application_id: APP, token, version: 1,
  member: { user: { id: userId, username: 'u' } },
  data: { id: '2', name: command, type: 1, options: [{ type: 1, name: sub, options: options.map((o) => ({ type: o.type ?? 3, ...o })) }] },
});

beforeAll(async () => {
  env = await lab<commands.CommandRouter, commands.LabServices>(commands);
  fakeDiscord = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', path: req.url ?? '', body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '42' }));
    });
  });
  const api = await listen(fakeDiscord);
  const rest = new REST({ api: `${api}/api`, retries: 0 }).setToken('bot-token-for-tests');
  endpoint = createDiscordInteractions({ router: env.router, publicKey: publicHex, applicationId: APP, rest, progressIntervalMs: 0 });
  botServer = createServer(endpoint.requestListener);
  botUrl = await listen(botServer);
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
});
afterAll(async () => {
  await endpoint.idle();
  await new Promise((r) => botServer.close(r));
  await new Promise((r) => fakeDiscord.close(r));
  await env.close();
});

async function vmOf(username: string): Promise<number> {
  const person = await env.services.store.classes.getPersonByUsername(username);
  return (await env.services.store.inventory.list({ personId: person!.id }))[0]!.vmid;
}

describe('the Discord interactions endpoint', () => {
  it('answers PING with PONG', async () => {
    expect((await interact({ type: 1, id: '1', application_id: APP, token: 't', version: 1 })).json).toEqual({ type: 1 });
  });

  it('refuses a bad Ed25519 signature with 401 and runs nothing', async () => {
    calls.length = 0;
    const wrongKey = generateKeyPairSync('ed25519').privateKey;
    const forged = await interact(slash('ualice-discord', 'myvm', 'start'), { key: wrongKey });
    expect(forged.status).toBe(401);
    const tampered = await interact(slash('ualice-discord', 'myvm', 'status'), { tamper: true });
    expect(tampered.status).toBe(401);
    await endpoint.idle();
    expect(calls).toEqual([]);
  });

  it("refuses /myvm start on another student's VM, and starts the caller's own", async () => {
    const aliceVm = await vmOf('alice');
    calls.length = 0;
    const bobTries = await interact(slash('ubob-discord', 'myvm', 'start', [{ name: 'vm', value: String(aliceVm) }], 'tok-bob'));
    expect(bobTries.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    expect(env.sim.state.guests.get(aliceVm)?.status).toBe('stopped');
    const bobReply = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-bob/messages/%40original`)!;
    expect(bobReply.method).toBe('PATCH');
    expect(String(bobReply.body.content)).toMatch(new RegExp(`^You have no VM '${aliceVm}'`));

    const alice = await interact(slash('ualice-discord', 'myvm', 'start', [], 'tok-alice'));
    expect(alice.status).toBe(200);
    expect(alice.ms).toBeLessThan(3000);
    expect(alice.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-alice/messages/%40original`)!;
    expect(edit.body.content).toBe(`cs101-alice (${aliceVm}) is running.`);
    expect(env.sim.state.guests.get(aliceVm)?.status).toBe('running');
    expect(env.sim.state.guests.get(await vmOf('bob'))?.status).toBe('stopped');
  });

  it('defers a teacher deploy publicly and edits progress into a summary', async () => {
    calls.length = 0;
    const deferred = await interact(slash('uteach1-discord', 'lab', 'deploy', [{ name: 'class', value: 'cs101' }, { name: 'count', value: 3, type: 4 }, { name: 'template', value: 'ubuntu' }], 'tok-deploy'));
    expect(deferred.json).toEqual({ type: 5, data: { flags: 0 } });
    await endpoint.idle();
    const edits = calls.filter((c) => c.path.includes('/tok-deploy/'));
    expect(edits.some((e) => /^cs101 [▓░]+ \d\/1/.test(String(e.body.content)))).toBe(true);
    expect(String(edits.at(-1)!.body.content)).toMatch(/^cs101: 1 created, 4 kept, 0 deleted in/);
  });

  it('asks before /lab destroy with a Confirm button, and destroys when it is pressed', async () => {
    calls.length = 0;
    await interact(slash('uteach1-discord', 'lab', 'destroy', [{ name: 'class', value: 'cs101' }], 'tok-destroy'));
    await endpoint.idle();
    const ask = calls.find((c) => c.path.includes('/tok-destroy/'))!;
    const button = (ask.body.components as Array<{ components: Array<{ custom_id: string; label: string }> }>)[0]!.components[0]!;
    expect(button.label).toBe('Destroy cs101?');
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);
    const press = await interact({ type: 3, id: '9', application_id: APP, token: 'tok-confirm', version: 1, member: { user: { id: 'uteach1-discord' } }, data: { custom_id: button.custom_id, component_type: 2 } });
    expect(press.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const done = calls.find((c) => c.path.includes('/tok-confirm/'))!;
    expect(String(done.body.content)).toMatch(/^cs101: \d+ VMs destroyed\.$/);
    expect(await env.services.store.classes.assignmentsOfClass('cs101')).toEqual([]);
  });

  it('answers autocomplete with the caller\'s classes', async () => {
    const answer = await interact({
      type: 4, id: '1', application_id: APP, token: 't', version: 1, member: { user: { id: 'uteach2-discord' } },
      data: { name: 'lab', options: [{ type: 1, name: 'status', options: [{ type: 3, name: 'class', value: 'c', focused: true }] }] },
    });
    expect(answer.json).toEqual({ type: 8, data: { choices: [{ name: 'cs202', value: 'cs202' }] } });
  });

  it('registers the generated slash commands in a guild', async () => {
    calls.length = 0;
    const rest = new REST({ api: `http://127.0.0.1:${(fakeDiscord.address() as AddressInfo).port}/api`, retries: 0 }).setToken('bot-token-for-tests');
    await registerDiscordCommands({ rest, applicationId: APP, guildId: '222', router: env.router });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'PUT', path: `/api/v10/applications/${APP}/guilds/222/commands` });
    expect((calls[0]!.body as unknown as Array<{ name: string }>).map((c) => c.name)).toEqual(['lab', 'myvm', 'people', 'class', 'template']);
  });
});

import * as commands from '@lab/commands';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordInteractions, type DiscordInteractions } from '../src/index.js';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import { net0Bridge } from '@lab/proxmox-sdk/network';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
const APP = '111111111111111111';
let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let endpoint: DiscordInteractions;
let botServer: Server;
let fakeDiscord: Server;
let botUrl: string;
const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];

const listen = (server: Server): Promise<string> =>
  new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );

/** Sends an interaction signed with the app's key to the bot. */
function interact(body: object): Promise<{ status: number; ms: number; json: Record<string, unknown> }> {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + raw), privateKey).toString('hex');
  const sent = raw;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      botUrl,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature-ed25519': signature,
          'x-signature-timestamp': timestamp,
          'content-length': Buffer.byteLength(sent),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: Date.now() - started,
            json: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(sent);
  });
}

let interactionIds = 1000;
const slash = (
  userId: string,
  command: string,
  sub: string,
  options: Array<{ name: string; value: unknown; type?: number }> = [],
  token = `tok-${Math.random().toString(36).slice(2)}`,
) => ({
  type: 2,
  id: String(++interactionIds),
  application_id: APP,
  token,
  version: 1,
  channel_id: '444',
  member: { user: { id: userId, username: 'u' } },
  data: {
    id: '2',
    name: command,
    type: 1,
    options: [{ type: 1, name: sub, options: options.map((o) => ({ type: o.type ?? 3, ...o })) }],
  },
});

beforeAll(async () => {
  // The lab's `sdn` settings, as lab.config.json gives them: private networks can be built.
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands, { sdn: { prefix: 'lab' } });
  fakeDiscord = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      // A message with files comes as multipart/form-data: `payload_json` plus `files[n]` parts.
      const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/form-data');
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: multipart ? { multipart: raw } : raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '42' }));
    });
  });
  const api = await listen(fakeDiscord);
  const rest = new REST({ api: `${api}/api`, retries: 0 }).setToken('bot-token-for-tests');
  endpoint = createDiscordInteractions({
    router: env.router,
    publicKey: publicHex,
    applicationId: APP,
    rest,
    progressIntervalMs: 0,
  });
  botServer = createServer(endpoint.requestListener);
  botUrl = await listen(botServer);
  await env.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
});
afterAll(async () => {
  await endpoint.idle();
  await new Promise((r) => botServer.close(r));
  await new Promise((r) => fakeDiscord.close(r));
  await env.close();
});

const original = (token: string) =>
  calls.filter((c) => c.path.startsWith(`/api/v10/webhooks/${APP}/${token}/messages/`)).map((c) => c.body);

describe('a lab with two roles per student through signed Discord interactions', () => {
  it('/class set-lab with network student then /lab deploy give each student one VM per role on their own network', async () => {
    const set = await interact(
      slash(
        'uteach1-discord',
        'class',
        'set-lab',
        [
          { name: 'class', value: 'cs101' },
          { name: 'role', value: 'attacker=ubuntu target=windows:1:1024' },
          { name: 'network', value: 'student' },
          { name: 'internet', value: 'none' },
        ],
        'tok-set',
      ),
    );
    expect(set.status).toBe(200);
    await endpoint.idle();
    expect(String(original('tok-set').at(-1)?.content)).toMatch(
      /^cs101: each student gets 2 VM\(s\):\n• attacker: ubuntu\n• target: windows, 1 cores, 1024 MiB\nNetwork: one private network per student, no internet\./,
    );
    expect((await env.services.store.labDefinitions.get('cs101'))?.network).toEqual({
      mode: 'student',
      zone: null,
      internet: 'none',
    });

    const deploy = await interact(
      slash(
        'uteach1-discord',
        'lab',
        'deploy',
        [
          { name: 'class', value: 'cs101' },
          { name: 'count', value: 2, type: 4 },
        ],
        'tok-deploy',
      ),
    );
    expect(deploy.status).toBe(200);
    await endpoint.idle();
    const texts = calls.map((c) => (typeof c.body.content === 'string' ? c.body.content : ''));
    expect(
      texts.some((t) =>
        /^attacker: cs101: 4 created, 0 kept, 0 deleted in [\d.]+ s\.\ntarget: cs101: \d+ created/.test(t),
      ),
    ).toBe(true);
    const names = [...env.sim.state.guests.values()]
      .filter((g) => (g.config.tags ?? '').includes('role-student'))
      .map((g) => g.config.name)
      .sort();
    expect(names).toEqual(['cs101-alice-attacker', 'cs101-alice-target', 'cs101-bob-attacker', 'cs101-bob-target']);
    expect(
      texts.some((t) =>
        t.includes(
          'Networks: 3 private networks (one per seated student, one for the teacher VMs) in zone labzone, no internet.',
        ),
      ),
    ).toBe(true);
    // Each student's two VMs on that student's VNet, per the store's records and the VMs' config in PVE.
    // (and the teacher VMs on the teachers' own, `@teachers`)
    const vnets = (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter(
      (r) => r.kind === 'vnet' && r.student !== '@teachers',
    );
    expect(vnets.map((r) => r.student).sort()).toEqual(['alice', 'bob']);
    expect(new Set(vnets.map((r) => r.objectId)).size).toBe(2);
    for (const r of vnets) {
      const mine = [...env.sim.state.guests.values()].filter((g) => g.config.name?.startsWith(`cs101-${r.student}-`));
      expect(mine).toHaveLength(2);
      for (const g of mine) expect(net0Bridge(g.config.net0), g.config.name).toBe(r.objectId);
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import { silentLogger, type DeploymentRecord, type DeploymentSummary, type IdentityFormat } from '@lab/proxmox-sdk';
import { FrontEndRegistry, defineFrontEnd, renderReplyText, type FrontEndDefinition } from '@lab/commands';
import { loadLabConfig, openLabRuntime } from '../src/index.js';
import { serveBot } from '../src/serve-bot.js';
import { labFrontEnds } from '../src/front-ends.js';
import { finishTakenOverDeployment } from '../src/finish-taken-over-deployment.js';

// A fifth front end, registered only here: everything below reaches it through the registry, with
// no change to the CLI, the commands or the SDK.

const dir = mkdtempSync(join(tmpdir(), 'lab-fifth-front-end-'));
let sim: PveSim;
const fakes: Server[] = [];
/** What the fake Mattermost API received: `POST /api/v4/posts` with the user and the message. */
const mattermostPosts: Array<{ path: string; body: { user_id?: string; post_id?: string; message: string } }> = [];

/** Mattermost user ids: 26 lower-case letters and digits; a mention is `<@id>` in this sketch. */
const mattermostIdentity: IdentityFormat = {
  platform: 'mattermost',
  label: 'Mattermost',
  example: 'q8k3z1q8k3z1q8k3z1q8k3z1ab',
  shape: '26 lower-case letters and digits',
  isUserId: (id) => /^[a-z0-9]{26}$/.test(id),
  parse(text) {
    const id = /^<@([a-z0-9]{26})>$/.exec(text.trim())?.[1] ?? text.trim();
    return /^[a-z0-9]{26}$/.test(id) ? id : undefined;
  },
  display: (id) => `<@${id}>`,
};

const mattermostConfigSchema = z.object({ token: z.string(), apiUrl: z.url(), port: z.number().int() }).strict();
type MattermostConfig = z.output<typeof mattermostConfigSchema>;

/** Posts `message` through the fake API; `user_id` for a direct message, `post_id` to finish a progress post. */
async function post(config: MattermostConfig, body: Record<string, string>): Promise<boolean> {
  const res = await fetch(`${config.apiUrl}/api/v4/posts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.ok;
}

const mattermostFrontEnd: FrontEndDefinition = defineFrontEnd<MattermostConfig>({
  id: 'mattermost',
  label: 'Mattermost',
  identity: mattermostIdentity,
  configSchema: mattermostConfigSchema,
  secrets: (config) => [config?.token],
  serve: {
    defaultPort: 3005,
    address: (config) => (config ? { port: config.port } : {}),
    async start({ config, router, services }) {
      if (!config) throw new ConfigError("config key 'mattermost': set token and apiUrl", { key: 'mattermost' });
      let running = 0;
      return {
        paths: ['/mattermost/'],
        // A slash command: `command=/myvm&text=status&user_id=…`, answered with the reply's text.
        requestListener(req, res) {
          let body = '';
          req.on('data', (c) => (body += c));
          req.on('end', () => {
            const form = new URLSearchParams(body);
            running++;
            void router
              .invoke({
                platform: 'mattermost',
                userId: form.get('user_id') ?? '',
                command: (form.get('command') ?? '').replace(/^\//, ''),
                text: form.get('text') ?? '',
              })
              .then((reply) => res.writeHead(200, { 'content-type': 'text/plain' }).end(renderReplyText(reply)))
              .finally(() => running--);
          });
        },
        notifier: {
          async reaches(person) {
            return (await services.store.classes.identitiesOf(person.personId)).some(
              (i) => i.platform === 'mattermost',
            );
          },
          async notifyPerson(person, text) {
            const account = (await services.store.classes.identitiesOf(person.personId)).find(
              (i) => i.platform === 'mattermost',
            );
            return account ? post(config, { user_id: account.externalId, message: text }) : false;
          },
        },
        finishDeployment: async () => false,
        stop: async () => undefined,
        idle: async () => {
          while (running > 0) await new Promise((r) => setTimeout(r, 10));
        },
      };
    },
  },
  async finishProgress({ config }, deployment, _summary, text) {
    const postId = deployment.notify?.postId;
    return config && typeof postId === 'string' ? post(config, { post_id: postId, message: text }) : false;
  },
});

const registry = new FrontEndRegistry([...labFrontEnds.list(), mattermostFrontEnd]);

let mattermostApi: string;
beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      mattermostPosts.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"p1"}');
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  fakes.push(api);
  mattermostApi = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => new Promise((r) => f.close(r))));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A port free right now, for two front ends to share. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function writeConfig(name: string, sections: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      store: `sqlite:${join(dir, `${name}.db`)}`,
      clusters: [
        { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
      ],
      sync: { enabled: false },
      ...sections,
    }),
  );
  return file;
}

const ALICE = 'a1b2c3d4e5f6g7h8i9j0k1l2m3';
const BOB = 'z9y8x7w6v5u4t3s2r1q0p9o8n7';

describe('a fifth front end registered in one line', () => {
  it('gets its own section of lab.config.json, which the built-in registry does not accept', () => {
    const file = writeConfig('sections', { mattermost: { token: 'mm-token', apiUrl: 'http://127.0.0.1:1', port: 1 } });
    expect(loadLabConfig(file, {}, registry).mattermost).toEqual({
      token: 'mm-token',
      apiUrl: 'http://127.0.0.1:1',
      port: 1,
    });
    expect(() => loadLabConfig(file, {})).toThrow(/Unrecognized key/);
    const bad = writeConfig('bad-section', { mattermost: { token: 'mm-token', apiUrl: 'not a url', port: 1 } });
    expect(() => loadLabConfig(bad, {}, registry)).toThrow(/config key 'mattermost.apiUrl'/);
  });

  it('imports its roster column and links its accounts, refusing ids of the wrong shape and unknown platforms', async () => {
    const file = writeConfig('roster', {});
    const runtime = await openLabRuntime(loadLabConfig(file, {}, registry), { frontEnds: registry });
    try {
      const asOperator = (subcommand: string, options: Record<string, unknown>) =>
        runtime.router.invoke({
          platform: 'cli',
          userId: 'root',
          operator: true,
          command: 'people',
          subcommand,
          options,
        });
      const badRow = await asOperator('import', {
        csv: `username,role,mattermost\nalice,student,${ALICE}\nbob,student,Not-An-Id\n`,
        apply: true,
      });
      expect(badRow.text).toContain(
        "line 3: 'Not-An-Id' is not a Mattermost user id (26 lower-case letters and digits)",
      );
      expect(await runtime.store.classes.findByIdentity('mattermost', ALICE)).toBeUndefined();

      const applied = await asOperator('import', {
        csv: `username,role,mattermost\nalice,student,${ALICE}\nbob,student,\n`,
        apply: true,
      });
      expect(applied.error).toBeFalsy();
      expect((await runtime.store.classes.findByIdentity('mattermost', ALICE))?.username).toBe('alice');

      const linked = await asOperator('link', { username: 'bob', account: `mattermost:<@${BOB}>` });
      expect(linked.text).toBe(`Linked mattermost ${BOB} to bob.`);
      expect((await runtime.store.classes.findByIdentity('mattermost', BOB))?.username).toBe('bob');

      const wrongShape = await asOperator('link', { username: 'bob', account: 'mattermost:@bob' });
      expect(wrongShape).toMatchObject({ error: true });
      expect(wrongShape.text).toContain("'@bob' is not a mattermost user id");
      const unknownPlatform = await asOperator('link', { username: 'bob', account: 'teams:29:1abc' });
      expect(unknownPlatform).toMatchObject({ error: true });
      expect(unknownPlatform.text).toContain("There is no front end 'teams'; use one of slack, discord, mattermost.");
      expect(
        await runtime.store.classes.identitiesOf((await runtime.store.classes.getPersonByUsername('bob'))!.id),
      ).toEqual([expect.objectContaining({ platform: 'mattermost', externalId: BOB })]);
    } finally {
      await runtime.close();
    }
  });

  it('is served by lab serve beside Discord on one port, answers its users through the router and DMs them', async () => {
    const port = await freePort();
    const file = writeConfig('serve', {
      mattermost: { token: 'mm-token', apiUrl: mattermostApi, port },
      discord: { mode: 'http', applicationId: '123456789012345678', publicKey: 'a'.repeat(64), port },
    });
    const runtime = await openLabRuntime(loadLabConfig(file, {}, registry), { runSync: true, frontEnds: registry });
    const { store } = runtime;
    const now = Date.now();
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
    await store.usage.savePolicy({
      classId: 'cs101',
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: null,
    });
    await store.inventory.upsertMany([
      {
        clusterId: 'lab',
        vmid: 600,
        name: 'cs101-alice',
        node: 'pve1',
        status: 'running',
        ip: null,
        type: 'qemu',
        category: 'linux',
        memory: 1024,
        cores: 1,
        diskSize: null,
        uptime: 3600,
        cpuUsage: 0,
        memoryUsage: 0,
        isTemplate: false,
        tags: 'lab;class-cs101;role-student',
        rdpAvailable: false,
        sshAvailable: false,
        lastUpdated: now,
        lastStatusCheck: null,
        syncError: null,
        goneAt: null,
      },
    ]);
    const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, now);
    await store.classes.linkIdentity({ personId: alice.id, platform: 'mattermost', externalId: ALICE });
    await store.classes.assignVm(
      { clusterId: 'lab', vmid: 600, personId: alice.id, classId: 'cs101', role: 'student' },
      now,
    );
    await store.usage.saveIdle({
      clusterId: 'lab',
      vmid: 600,
      idleSince: now - 3_600_000,
      warnedAt: null,
      keptAt: null,
      keepsUsed: 0,
    });
    const served = await serveBot(runtime, ['mattermost', 'discord'], { frontEnds: registry });
    try {
      expect(served.served).toEqual([
        { kind: 'mattermost', url: `http://127.0.0.1:${port}` },
        { kind: 'discord', url: `http://127.0.0.1:${port}` },
      ]);
      const status = await fetch(`${served.url}/mattermost/command`, {
        method: 'POST',
        body: new URLSearchParams({ command: '/myvm', text: 'status', user_id: ALICE }),
      });
      expect(await status.text()).toContain('cs101-alice');
      const stranger = await fetch(`${served.url}/mattermost/command`, {
        method: 'POST',
        body: new URLSearchParams({ command: '/myvm', text: 'status', user_id: BOB }),
      });
      expect(await stranger.text()).toContain('You are not enrolled in Proxmox Lab yet');
      // Discord answers every other path on the shared port: an unsigned request is refused there.
      expect((await fetch(`${served.url}/discord`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect(await (await fetch(`${served.url}/healthz`)).json()).toEqual({ status: 'ok' });

      const dms = () => mattermostPosts.filter((p) => p.body.user_id === ALICE);
      await eventually(() => dms().length > 0);
      expect(dms()[0]!.body.message).toContain('cs101-alice has been idle for 30 min and will stop in 10 min.');
      expect(await store.usage.idle('lab', 600)).toMatchObject({ warnedAt: expect.any(Number) });
    } finally {
      await served.shutdown();
    }
  });

  it('finishes the progress post of a Mattermost deployment taken over by a process that serves only Discord', async () => {
    const summary: DeploymentSummary = {
      deploymentId: 'd-mm',
      classId: 'cs101',
      status: 'done',
      created: 1,
      kept: 0,
      deleted: 0,
      failed: [],
      orphans: [],
      unregistered: [],
      duplicates: [],
      removed: [],
      unseated: [],
      durationMs: 4200,
    };
    const deployment = {
      id: 'd-mm',
      classId: 'cs101',
      notify: { platform: 'mattermost', postId: 'post-42' },
    } as unknown as DeploymentRecord;
    const config = loadLabConfig(
      writeConfig('takeover', { mattermost: { token: 'mm-token', apiUrl: mattermostApi, port: 1 } }),
      {},
      registry,
    );
    const notServed = {
      requestListener: () => undefined,
      finishDeployment: async () => false,
      stop: async () => undefined,
      idle: async () => undefined,
    };
    mattermostPosts.length = 0;
    const ok = await finishTakenOverDeployment(
      { served: new Map([['discord', notServed]]), frontEnds: registry, config, logger: silentLogger },
      deployment,
      summary,
    );
    expect(ok).toBe(true);
    expect(mattermostPosts).toEqual([
      { path: '/api/v4/posts', body: { post_id: 'post-42', message: expect.stringContaining('cs101') } },
    ]);
  });
});

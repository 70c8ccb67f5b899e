import * as commands from '@lab/commands';
import { generateKeyPairSync, sign } from 'node:crypto';
import { request } from 'node:http';
import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishDiscordProgress, registerDiscordCommands, type DiscordInteractions } from '../src/index.js';
import { runningWindowsVm, startTestLab } from '@lab/proxmox-sdk/testing';
import {
  APP,
  interact as signedInteraction,
  nextInteractionId,
  press,
  privateKey,
  slash,
  startDiscordTestBot,
  type DiscordCall,
  type DiscordTestBot,
  type SignOptions,
} from './fixtures/discord-test-bot.js';

let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let bot: DiscordTestBot;
let endpoint: DiscordInteractions;
let calls: DiscordCall[];
const interact = (body: object, options?: SignOptions) => signedInteraction(bot.url, body, options);

/** Posts a raw body in 8 KiB chunks, signed; resolves with the status (the bot may close early). */
function post(body: string, headers: Record<string, string>): Promise<number> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + body), privateKey).toString('hex');
  return new Promise((resolve, reject) => {
    const req = request(
      bot.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature-ed25519': signature,
          'x-signature-timestamp': timestamp,
          ...headers,
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    const chunks = body.match(/[\s\S]{1,8192}/g)!;
    const next = (): void => {
      const chunk = chunks.shift();
      if (chunk === undefined) req.end();
      else if (!req.destroyed) req.write(chunk, () => setImmediate(next));
    };
    next();
  });
}

beforeAll(async () => {
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands);
  bot = await startDiscordTestBot(env.router);
  ({ endpoint, calls } = bot);
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
});
afterAll(async () => {
  await bot.close();
  await env.close();
});

async function vmOf(username: string): Promise<number> {
  const person = await env.services.store.classes.getPersonByUsername(username);
  return (await env.services.store.inventory.list({ personId: person!.id }))[0]!.vmid;
}

describe('the Discord interactions endpoint', () => {
  it('answers PING with PONG', async () => {
    expect((await interact({ type: 1, id: '1', application_id: APP, token: 't', version: 1 })).json).toEqual({
      type: 1,
    });
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
    const bobTries = await interact(
      slash('ubob-discord', 'myvm', 'start', [{ name: 'vm', value: String(aliceVm) }], 'tok-bob'),
    );
    expect(bobTries.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    expect(env.sim.state.guests.get(aliceVm)?.status).toBe('stopped');
    const bobReply = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-bob/messages/%40original`)!;
    expect(bobReply.method).toBe('PATCH');
    expect(String(bobReply.body.content)).toMatch(new RegExp(`^You have no VM '${aliceVm}'`));

    const alice = await interact(slash('ualice-discord', 'myvm', 'start', [], 'tok-alice'));
    expect(alice.status).toBe(200);
    expect(alice.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-alice/messages/%40original`)!;
    expect(edit.body.content).toBe(`cs101-alice (${aliceVm}) is running.`);
    expect(env.sim.state.guests.get(aliceVm)?.status).toBe('running');
    expect(env.sim.state.guests.get(await vmOf('bob'))?.status).toBe('stopped');
  });

  it('adds an SSH key given as Discord sends it, one string with spaces (key:"ssh-ed25519 AAAA… me@laptop")', async () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 7)]).toString(
      'base64',
    );
    const options = [
      { name: 'action', value: 'add' },
      { name: 'key', value: `ssh-ed25519 ${blob} alice@laptop` },
    ];
    calls.length = 0;
    expect((await interact(slash('ualice-discord', 'myvm', 'sshkey', options, 'tok-key'))).json).toEqual({
      type: 5,
      data: { flags: 64 },
    });
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-key/messages/%40original`)!;
    expect(String(edit.body.content)).toMatch(/^Added ssh-ed25519 SHA256:\S+\. /);
    const alice = (await env.services.store.classes.getPersonByUsername('alice'))!;
    expect((await env.services.store.sshKeys.list(alice.id)).map((k) => k.comment)).toEqual(['alice@laptop']);
  });

  it("answers autocomplete of a VM with the caller's VMs by name, giving their ids", async () => {
    const bob = (await env.services.store.classes.getPersonByUsername('bob'))!;
    const { vmid } = (await env.services.store.classes.assignmentsOf(bob.id))[0]!;
    const ask = (value: string) =>
      interact({
        type: 4,
        id: nextInteractionId(),
        application_id: APP,
        token: 't',
        version: 1,
        member: { user: { id: 'ubob-discord' } },
        data: {
          name: 'myvm',
          options: [{ type: 1, name: 'connect', options: [{ type: 3, name: 'vm', value, focused: true }] }],
        },
      });
    const choice = { name: `cs101-bob (${vmid})`, value: String(vmid) };
    expect((await ask('cs')).json).toEqual({ type: 8, data: { choices: [choice] } });
    expect((await ask('BOB')).json).toEqual({ type: 8, data: { choices: [choice] } });
    expect((await ask(String(vmid))).json).toEqual({ type: 8, data: { choices: [choice] } });
    expect((await ask('nothing-like-it')).json).toEqual({ type: 8, data: { choices: [] } });
  });

  it('defers a teacher deploy publicly and edits progress into a summary', async () => {
    calls.length = 0;
    const deferred = await interact(
      slash(
        'uteach1-discord',
        'lab',
        'deploy',
        [
          { name: 'class', value: 'cs101' },
          { name: 'count', value: 3, type: 4 },
          { name: 'template', value: 'ubuntu' },
        ],
        'tok-deploy',
      ),
    );
    expect(deferred.json).toEqual({ type: 5, data: { flags: 0 } });
    await endpoint.idle();
    const edits = calls.filter((c) => c.path.includes('/tok-deploy/'));
    expect(edits.some((e) => /^cs101 [▓░]+ \d\/1/.test(String(e.body.content)))).toBe(true);
    expect(String(edits.at(-1)!.body.content)).toMatch(/^cs101: 1 created, 4 kept, 0 deleted in/);
  });

  it('shows a confirmed /lab rebuild as rebuild progress and ends the message with the rebuild summary', async () => {
    calls.length = 0;
    await interact(slash('uteach1-discord', 'lab', 'rebuild', [{ name: 'class', value: 'cs101' }], 'tok-rebuild'));
    await endpoint.idle();
    const ask = calls.find((c) => c.method === 'POST' && c.path === `/api/v10/webhooks/${APP}/tok-rebuild`)!;
    const [confirm] = (ask.body.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!.components;
    calls.length = 0;
    expect((await interact(press(confirm!.custom_id, 'uteach1-discord', 'tok-rebuilt'))).json).toEqual({ type: 6 });
    await endpoint.idle();
    const edits = calls
      .filter((c) => c.path === `/api/v10/webhooks/${APP}/tok-rebuilt/messages/%40original`)
      .map((c) => String(c.body.content));
    expect(edits.some((t) => /^rebuild cs101 [▓░]+ \d+\/\d+/.test(t))).toBe(true);
    expect(edits.some((t) => /^reset /.test(t))).toBe(false);
    expect(edits.at(-1)).toMatch(/^cs101 rebuilt: (cs101-\w+ \(\d+\)(, )?)+ re-created from cs101-base/);
  });

  it('asks before /lab destroy privately with single-use Confirm and Cancel buttons, and destroys once when Confirm is pressed', async () => {
    calls.length = 0;
    await interact(slash('uteach1-discord', 'lab', 'destroy', [{ name: 'class', value: 'cs101' }], 'tok-destroy'));
    await endpoint.idle();
    const ask = calls.find((c) => c.method === 'POST' && c.path === `/api/v10/webhooks/${APP}/tok-destroy`)!;
    expect(ask.body.flags).toBe(64);
    const [confirm, cancel] = (
      ask.body.components as Array<{ components: Array<{ custom_id: string; label: string }> }>
    )[0]!.components;
    expect(confirm!.label).toBe('Destroy cs101');
    expect(confirm!.custom_id).toMatch(/^lab_confirm:[A-Za-z0-9_-]{22,}$/);
    expect(cancel).toMatchObject({
      label: 'Cancel',
      custom_id: confirm!.custom_id.replace('lab_confirm:', 'lab_cancel:'),
    });
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);

    const byAnother = await interact(press(confirm!.custom_id, 'uteach2-discord', 'tok-other'));
    expect(byAnother.json).toEqual({
      type: 4,
      data: {
        content: 'Only lovelace, who asked, can confirm this; ask them, or run the command yourself if you mean to.',
        components: [],
        allowed_mentions: { parse: [] },
        flags: 64,
      },
    });
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);

    const pressed = press(confirm!.custom_id, 'uteach1-discord', 'tok-confirm');
    expect((await interact(pressed)).json).toEqual({ type: 6 });
    await endpoint.idle();
    const done = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-confirm/messages/%40original`)!;
    expect(done.method).toBe('PATCH');
    expect(String(done.body.content)).toMatch(/^cs101: \d+ VMs destroyed\.$/);
    expect(done.body.components).toEqual([]);
    expect(await env.services.store.classes.assignmentsOfClass('cs101')).toEqual([]);

    await env.services.engine.deploy({ classId: 'cs101', count: 0, template: 'ubuntu' });
    const again = await interact(press(confirm!.custom_id, 'uteach1-discord', 'tok-again'));
    expect(again.json).toMatchObject({
      type: 4,
      data: { content: 'This confirmation has expired or was already used; run the command again.', flags: 64 },
    });
    const replayed = await interact(pressed);
    expect(replayed.json).toMatchObject({ type: 4, data: { flags: 64 } });
    await endpoint.idle();
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);
  });

  it('removes a confirmation with its Cancel button, after which Confirm does nothing', async () => {
    calls.length = 0;
    await interact(slash('uteach2-discord', 'lab', 'destroy', [{ name: 'class', value: 'cs202' }], 'tok-destroy2'));
    await endpoint.idle();
    const ask = calls.find((c) => c.method === 'POST' && c.path === `/api/v10/webhooks/${APP}/tok-destroy2`)!;
    const [confirm, cancel] = (ask.body.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!
      .components;
    const cancelled = await interact(press(cancel!.custom_id, 'uteach2-discord', 'tok-cancel'));
    expect(cancelled.json).toEqual({
      type: 7,
      data: { content: 'Cancelled; nothing was changed.', allowed_mentions: { parse: [] }, components: [] },
    });
    const late = await interact(press(confirm!.custom_id, 'uteach2-discord', 'tok-late'));
    expect(late.json).toMatchObject({ type: 4, data: { flags: 64 } });
  });

  it('answers refusals privately: at once when the command layer refuses before running, by replacing the public placeholder when the plugin refuses', async () => {
    calls.length = 0;
    const student = await interact(slash('ualice-discord', 'lab', 'sync', [], 'tok-student-sync'));
    expect(student.json).toMatchObject({
      type: 4,
      data: { content: '/lab sync is for admins; you are a student.', flags: 64 },
    });
    const stranger = await interact(
      slash('unknown-discord', 'lab', 'status', [{ name: 'class', value: 'cs101' }], 'tok-stranger'),
    );
    expect(stranger.json).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String((stranger.json.data as { content: string }).content)).toMatch(/^You are not enrolled/);

    // hopper teaches cs202 only: the command is public until the deploy plugin refuses.
    const deferred = await interact(
      slash(
        'uteach2-discord',
        'lab',
        'deploy',
        [
          { name: 'class', value: 'cs101' },
          { name: 'count', value: 1, type: 4 },
        ],
        'tok-other-class',
      ),
    );
    expect(deferred.json).toEqual({ type: 5, data: { flags: 0 } });
    await endpoint.idle();
    const sent = calls.filter((c) => c.path.includes('/tok-other-class'));
    expect(sent.map((c) => `${c.method} ${c.path}`)).toEqual([
      `DELETE /api/v10/webhooks/${APP}/tok-other-class/messages/%40original`,
      `POST /api/v10/webhooks/${APP}/tok-other-class`,
    ]);
    expect(sent[1]!.body).toMatchObject({ flags: 64 });
    expect(String(sent[1]!.body.content)).toMatch(/cs101/);
  });

  it('escapes markdown in every reply and pings nobody, whatever a name says', async () => {
    await env.services.store.classes.createPerson(
      {
        username: 'mallory',
        displayName: '@everyone **[Reset](https://evil.example)** <@123456789012345678>',
        role: 'student',
      },
      Date.now(),
    );
    calls.length = 0;
    await interact(slash('uadmin-discord', 'people', 'show', [{ name: 'username', value: 'mallory' }], 'tok-mallory'));
    await endpoint.idle();
    const edit = calls.find((c) => c.path.includes('/tok-mallory/messages/'))!;
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(String(edit.body.content)).toContain(
      'mallory — @everyone \\*\\*\\[Reset](https://evil.example)\\*\\* \\<@123456789012345678>, student',
    );
    const refusal = await interact(slash('ualice-discord', 'lab', 'sync', [], 'tok-refusal-pings'));
    expect(refusal.json).toMatchObject({ data: { allowed_mentions: { parse: [] } } });
  });

  it('refuses a correctly signed interaction whose timestamp is more than 5 minutes away with 401', async () => {
    calls.length = 0;
    const old = await interact(slash('ualice-discord', 'myvm', 'status'), {
      timestampS: Math.floor(Date.now() / 1000) - 330,
    });
    expect(old.status).toBe(401);
    const future = await interact(slash('ualice-discord', 'myvm', 'status'), {
      timestampS: Math.floor(Date.now() / 1000) + 330,
    });
    expect(future.status).toBe(401);
    expect(future.json).toEqual({ error: 'invalid request timestamp' });
    await endpoint.idle();
    expect(calls).toEqual([]);
  });

  it('runs a replayed interaction id only once', async () => {
    const runs = async () =>
      (await env.services.store.audit.list({ actor: 'alice', action: 'command.myvm.status' })).length;
    const before = await runs();
    const status = slash('ualice-discord', 'myvm', 'status', [], 'tok-replay');
    expect((await interact(status)).json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const replay = await interact(status);
    expect(replay.status).toBe(200);
    expect(replay.json).toEqual({ type: 4, data: { content: 'This interaction was already handled.', flags: 64 } });
    await endpoint.idle();
    expect(await runs()).toBe(before + 1);
  });

  it('answers 413 to a body over the limit, announced or streamed, without running it', async () => {
    calls.length = 0;
    const big = JSON.stringify({ ...slash('ualice-discord', 'myvm', 'status'), padding: 'x'.repeat(70 * 1024) });
    expect(await post(big, { 'content-length': String(Buffer.byteLength(big)) })).toBe(413);
    expect(await post(big, { 'transfer-encoding': 'chunked' })).toBe(413);
    await endpoint.idle();
    expect(calls).toEqual([]);
  });

  it("answers autocomplete with the caller's classes", async () => {
    const answer = await interact({
      type: 4,
      id: '1',
      application_id: APP,
      token: 't',
      version: 1,
      member: { user: { id: 'uteach2-discord' } },
      data: {
        name: 'lab',
        options: [{ type: 1, name: 'status', options: [{ type: 3, name: 'class', value: 'c', focused: true }] }],
      },
    });
    expect(answer.json).toEqual({ type: 8, data: { choices: [{ name: 'cs202', value: 'cs202' }] } });
  });

  it('finishes a stored progress message with a deployment summary while its token is valid, and only logs after', async () => {
    calls.length = 0;
    const rest = new REST({ api: `${bot.apiUrl}/api`, retries: 0 });
    const summary = {
      deploymentId: 'd1',
      classId: 'cs101',
      status: 'done' as const,
      created: 3,
      kept: 1,
      deleted: 0,
      failed: [],
      orphans: [],
      unregistered: [],
      duplicates: [],
      removed: [],
      unseated: [],
      durationMs: 4200,
    };
    const warnings: string[] = [];
    const logger = {
      ...env.services.logger,
      warn: (message: string) => void warnings.push(message),
      child: () => logger,
    };
    const notify = {
      platform: 'discord',
      applicationId: APP,
      token: 'tok-resumed',
      channelId: '444',
      expiresAt: 1_000_000,
    };
    expect(await finishDiscordProgress({ rest, now: () => 999_999 }, notify, summary)).toBe(true);
    expect(calls).toEqual([
      {
        method: 'PATCH',
        path: `/api/v10/webhooks/${APP}/tok-resumed/messages/%40original`,
        body: {
          content: 'cs101: 3 created, 1 kept, 0 deleted in 4.2 s.',
          allowed_mentions: { parse: [] },
          components: [],
        },
      },
    ]);
    expect(await finishDiscordProgress({ rest, now: () => 1_000_000, logger }, notify, summary)).toBe(false);
    expect(warnings).toEqual([
      'cannot finish the Discord progress message: its interaction token expired (Discord allows edits for 15 minutes)',
    ]);
    expect(await finishDiscordProgress({ rest }, { platform: 'slack', channel: 'C1' }, summary)).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('registers the generated slash commands in a guild', async () => {
    calls.length = 0;
    const rest = new REST({
      api: `${bot.apiUrl}/api`,
      retries: 0,
    }).setToken('bot-token-for-tests');
    await registerDiscordCommands({ rest, applicationId: APP, guildId: '222', router: env.router });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'PUT', path: `/api/v10/applications/${APP}/guilds/222/commands` });
    expect((calls[0]!.body as unknown as Array<{ name: string }>).map((c) => c.name)).toEqual([
      'lab',
      'myvm',
      'people',
      'class',
      'template',
      'directory',
    ]);
  });
});

describe('files of a reply', () => {
  it('attaches the .rdp file of /myvm connect to the ephemeral reply as a multipart edit', async () => {
    await runningWindowsVm(env, 'alice');
    calls.length = 0;
    const answer = await interact(
      slash('ualice-discord', 'myvm', 'connect', [{ name: 'vm', value: 'win1-alice' }], 'tok-rdp'),
    );
    expect(answer.json).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-rdp/messages/%40original`)!;
    expect(edit.method).toBe('PATCH');
    const raw = String(edit.body.multipart);
    const payload = JSON.parse(
      /name="payload_json"\r\n(?:Content-Type: application\/json\r\n)?\r\n(.*)\r\n/.exec(raw)![1]!,
    ) as Record<string, unknown>;
    expect(payload.attachments).toEqual([{ id: 0, filename: 'win1-alice.rdp' }]);
    expect(String(payload.content)).toMatch(/^win1-alice: 127\.10\.[\d.]+\. Connect with Remote Desktop/);
    expect(raw).toMatch(
      /name="files\[0\]"; filename="win1-alice\.rdp"\r\nContent-Type: application\/x-rdp\r\n\r\nfull address:s:127\.10\.[\d.]+:3389\r\nusername:s:alice\r\n/,
    );
  });

  it('attaches /lab usage <class> --csv as a CSV file, one row per student', async () => {
    calls.length = 0;
    await interact(
      slash(
        'uteach1-discord',
        'lab',
        'usage',
        [
          { name: 'class', value: 'cs101' },
          { name: 'csv', value: true },
        ],
        'tok-csv',
      ),
    );
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-csv/messages/%40original`)!;
    const raw = String(edit.body.multipart);
    expect(raw).toMatch(
      /name="files\[0\]"; filename="cs101-usage\.csv"\r\nContent-Type: text\/csv\r\n\r\nusername,name,email,role,class,hours_used,hours_left,running_vms,top_up_hours,hours_total,cost,currency\r\n/,
    );
    expect(raw).toMatch(/\r\nalice,alice,,student,cs101,/);
  });
});

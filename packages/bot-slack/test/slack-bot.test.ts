import * as commands from '@lab/commands';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest, type SlackBot } from '../src/index.js';
import { runningWindowsVm, startTestLab, testLabIds as ids } from '@lab/proxmox-sdk/testing';
import {
  SECRET,
  nextTrigger,
  send as sendTo,
  slash as slashTo,
  startSlackTestBot,
  type SlackCall,
  type SlackTestBot,
} from './fixtures/slack-test-bot.js';

let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let slack: SlackTestBot;
let bot: SlackBot;
let slackUrl: string;
let calls: SlackCall[];
/** When set, the fake Web API answers chat.postMessage and chat.update with this Slack error. */
let chatError: string | undefined;

const slash = (command: string, text: string, userId: string, options?: Parameters<typeof slashTo>[4]) =>
  slashTo(slack, command, text, userId, options);
const send = (body: string, headers: Record<string, string>) => sendTo(slack.url, body, headers);

/** A click on a button of a message, as Slack posts it (block_actions). */
function click(
  actionId: string,
  value: string,
  userId: string,
  triggerId = `${nextTrigger()}.9.9`,
): Promise<{ status: number; body: string }> {
  const payload = {
    type: 'block_actions',
    api_app_id: 'A0LAB',
    token: 'legacy',
    trigger_id: triggerId,
    response_url: `${slackUrl}/respond/click-${triggerId}`,
    team: { id: 'T0SCHOOL', domain: 'school' },
    user: { id: userId, username: 'x', team_id: 'T0SCHOOL' },
    channel: { id: 'C0CLASS', name: 'class' },
    container: { type: 'message', message_ts: '1700000000.000009', channel_id: 'C0CLASS', is_ephemeral: true },
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'b1',
        value,
        action_ts: '1700000001.000001',
        text: { type: 'plain_text', text: 'x' },
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return send(body, { ...signSlackRequest(SECRET, body), 'content-length': String(Buffer.byteLength(body)) });
}

beforeAll(async () => {
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands);
  slack = await startSlackTestBot(env.router, { chatError: () => chatError });
  ({ bot, slackUrl, calls } = slack);
});
afterAll(async () => {
  await slack.close();
  await env.close();
});

describe('the Slack bot over HTTP', () => {
  it('acks a signed /lab deploy from a teacher, then edits one message with progress (count and clones under way) up to a summary', async () => {
    const response = await slash('/lab', 'deploy cs101 3 ubuntu', ids.teacher);
    expect(response.status).toBe(200);
    await bot.idle();
    const posts = calls.filter((c) => c.path.startsWith('/api/chat.postMessage'));
    const updates = calls.filter((c) => c.path.startsWith('/api/chat.update'));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({ channel: 'C0CLASS' });
    expect(String(posts[0]!.body.text)).toMatch(/^cs101 ░+ 0\/5/);
    expect(updates.length).toBeGreaterThan(2);
    expect(updates.every((u) => u.body.ts === '1700000000.000001')).toBe(true);
    expect(updates.some((u) => /^cs101 ▓+░* \d\/5/.test(String(u.body.text)))).toBe(true);
    // The typed clone events reach the message: clones under way are listed under the bar.
    expect(updates.some((u) => /\ncloning cs101-/.test(String(u.body.text)))).toBe(true);
    expect(String(updates.at(-1)!.body.text)).toMatch(/^cs101: 5 created, 0 kept, 0 deleted in/);
    const vms = await env.services.store.classes.assignmentsOfClass('cs101');
    expect(vms.filter((a) => a.role === 'student')).toHaveLength(3);
  });

  it('ends the public progress of a confirmed /lab rebuild with its summary, named rebuild, not with a finished bar', async () => {
    calls.length = 0;
    await slash('/lab', 'rebuild cs101', ids.teacher);
    await bot.idle();
    const id = JSON.stringify(calls[0]!.body.blocks).match(/"value":"([^"]+)"/)![1]!;
    calls.length = 0;
    await click('lab_confirm', id, ids.teacher);
    await bot.idle();
    const chat = calls.filter((c) => c.path.startsWith('/api/chat.')).map((c) => String(c.body.text));
    expect(chat[0]).toMatch(/^rebuild cs101 ░+ 0\/2/);
    expect(chat.some((t) => /^rebuild cs101 ▓+ 2\/2/.test(t))).toBe(true);
    const summary = /^cs101 rebuilt: cs101-\w+ \(\d+\), cs101-\w+ \(\d+\) re-created from cs101-base/;
    expect(chat.at(-1)).toMatch(summary);
    expect(calls.at(-1)!.body).toMatchObject({ replace_original: true });
    expect(String(calls.at(-1)!.body.text)).toMatch(summary);
  });

  it('sends the .rdp file of /myvm connect to the caller’s DM through the file upload API', async () => {
    await runningWindowsVm(env, 'bob');
    calls.length = 0;
    expect((await slash('/myvm', 'connect win1-bob', ids.bob)).status).toBe(200);
    await bot.idle();
    const reply = calls.find((c) => c.path.startsWith('/respond/'))!;
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(reply.body.text)).toMatch(
      /^win1-bob: 127\.10\.[\d.]+\. Connect with Remote Desktop .*\n[\s\S]*\(win1-bob\.rdp sent to you in a direct message\)$/,
    );
    const api = calls.filter((c) => !c.path.startsWith('/respond/')).map((c) => c.path.replace(/\?.*$/, ''));
    expect(api).toEqual([
      '/api/conversations.open',
      '/api/files.getUploadURLExternal',
      expect.stringMatching(/^\/upload\/F0\d+$/),
      '/api/files.completeUploadExternal',
    ]);
    expect(calls.find((c) => c.path === '/api/conversations.open')!.body).toMatchObject({ users: ids.bob });
    expect(calls.find((c) => c.path === '/api/files.getUploadURLExternal')!.body).toMatchObject({
      filename: 'win1-bob.rdp',
    });
    // The bytes travel as multipart form data, as to Slack's upload URL.
    expect(String(calls.find((c) => c.path.startsWith('/upload/'))!.body.raw)).toMatch(
      /\r\n\r\nfull address:s:127\.10\.[\d.]+:3389\r\nusername:s:bob\r\n/,
    );
    const done = calls.find((c) => c.path === '/api/files.completeUploadExternal')!.body;
    expect(done).toMatchObject({ channel_id: `D0${ids.bob}` });
    expect(JSON.parse(String(done.files))).toEqual([{ id: expect.stringMatching(/^F0/), title: 'win1-bob.rdp' }]);
  });

  it('uploads /lab usage <class> --csv to the teacher’s DM as a file, one row per student', async () => {
    calls.length = 0;
    expect((await slash('/lab', 'usage cs101 --csv', ids.teacher)).status).toBe(200);
    await bot.idle();
    expect(calls.find((c) => c.path === '/api/files.getUploadURLExternal')!.body).toMatchObject({
      filename: 'cs101-usage.csv',
    });
    const bytes = String(calls.find((c) => c.path.startsWith('/upload/'))!.body.raw);
    expect(bytes).toContain(
      'username,name,email,role,class,hours_used,hours_left,running_vms,top_up_hours,hours_total,cost,currency\r\n',
    );
    expect(bytes).toMatch(/\r\nalice,alice,,student,cs101,/);
    expect(calls.find((c) => c.path === '/api/files.completeUploadExternal')!.body).toMatchObject({
      channel_id: `D0${ids.teacher}`,
    });
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

  it("shows a student's /myvm reset progress to them only, never in the channel", async () => {
    calls.length = 0;
    await slash('/myvm', 'reset', ids.alice);
    await bot.idle();
    const id = JSON.stringify(calls[0]!.body.blocks).match(/"value":"([^"]+)"/)![1]!;
    calls.length = 0;
    await click('lab_confirm', id, ids.alice);
    await bot.idle();
    expect(calls.filter((c) => c.path.startsWith('/api/chat.'))).toEqual([]);
    const answers = calls.filter((c) => c.path.startsWith('/respond/'));
    expect(answers.length).toBeGreaterThan(1);
    for (const a of answers) expect(a.body.response_type ?? 'ephemeral').toBe('ephemeral');
    expect(answers.every((a) => a.body.replace_original === true)).toBe(true);
    expect(String(answers.at(-1)!.body.text)).toMatch(/^cs101-alice \(\d+\) re-created from cs101-base/);
  });

  it('refuses a forged signature, a replayed request and a future timestamp with 401, changing nothing', async () => {
    calls.length = 0;
    const clones = env.sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone');
    const forged = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, {
      headers: { 'x-slack-signature': 'v0=0000000000000000000000000000000000000000000000000000000000000000' },
    });
    expect(forged.status).toBe(401);
    // Correctly signed, but ten minutes old (a replay) or ten minutes ahead (Bolt alone would accept it).
    const replayed = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, {
      timestampS: Math.floor(Date.now() / 1000) - 600,
    });
    expect(replayed.status).toBe(401);
    const fromTheFuture = await slash('/lab', 'deploy cs101 5 ubuntu', ids.teacher, {
      timestampS: Math.floor(Date.now() / 1000) + 600,
    });
    expect(fromTheFuture.status).toBe(401);
    expect(fromTheFuture.body).toBe('invalid request timestamp');
    await bot.idle();
    expect(calls).toEqual([]);
    expect(env.sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(clones);
  });

  it('puts a destructive command behind single-use Confirm and Cancel buttons that carry only a random id', async () => {
    calls.length = 0;
    await slash('/lab', 'destroy cs101', ids.teacher);
    await bot.idle();
    const ask = calls.find((c) => c.path.startsWith('/respond/'))!;
    expect(ask.body).toMatchObject({ response_type: 'ephemeral' });
    const [confirm, cancel] = (
      ask.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>
    ).find((b) => b.type === 'actions')!.elements!;
    expect(confirm).toMatchObject({
      action_id: 'lab_confirm',
      style: 'danger',
      text: { type: 'plain_text', text: 'Destroy cs101' },
    });
    expect(confirm!.value).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(cancel).toMatchObject({ action_id: 'lab_cancel', value: confirm!.value });
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);

    calls.length = 0;
    await click('lab_confirm', confirm!.value, ids.teacher2);
    await bot.idle();
    expect(calls.map((c) => c.body)).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: 'Only lovelace, who asked, can confirm this; ask them, or run the command yourself if you mean to.',
      },
    ]);
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);

    calls.length = 0;
    const triggerId = 'confirm.trigger.1';
    expect((await click('lab_confirm', confirm!.value, ids.teacher, triggerId)).status).toBe(200);
    await bot.idle();
    // The outcome replaces the asker's question and is posted in the channel, for the class to see.
    expect(calls.map((c) => c.path.replace(/^\/respond\/.*/, '/respond'))).toEqual([
      '/api/chat.postMessage',
      '/respond',
    ]);
    expect(calls[0]!.body).toMatchObject({ channel: 'C0CLASS' });
    expect(calls[1]!.body).toMatchObject({ replace_original: true });
    for (const call of calls) expect(String(call.body.text)).toMatch(/^cs101: \d+ VMs destroyed\.$/);
    expect(await env.services.store.classes.assignmentsOfClass('cs101')).toEqual([]);

    await env.services.engine.deploy({ classId: 'cs101', count: 0, template: 'ubuntu' });
    calls.length = 0;
    await click('lab_confirm', confirm!.value, ids.teacher, triggerId);
    await bot.idle();
    expect(calls).toEqual([]);
    await click('lab_confirm', confirm!.value, ids.teacher);
    await bot.idle();
    expect(calls.map((c) => c.body.text)).toEqual([
      'This confirmation has expired or was already used; run the command again.',
    ]);
    expect((await env.services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);
  });

  it('removes a confirmation with its Cancel button', async () => {
    calls.length = 0;
    await slash('/lab', 'destroy cs101', ids.teacher);
    await bot.idle();
    const id = JSON.stringify(calls[0]!.body.blocks).match(/"value":"([^"]+)"/)![1]!;
    calls.length = 0;
    await click('lab_cancel', id, ids.teacher);
    await bot.idle();
    expect(calls.map((c) => c.body)).toEqual([{ replace_original: true, text: 'Cancelled; nothing was changed.' }]);
    calls.length = 0;
    await click('lab_confirm', id, ids.teacher);
    await bot.idle();
    expect(calls.map((c) => c.body.text)).toEqual([
      'This confirmation has expired or was already used; run the command again.',
    ]);
  });

  it('reads escaped text as typed: entities turned back, mentions kept as user ids', async () => {
    const response = await slash('/people', 'add tomjerry --name "Tom &amp; Jerry &lt;TJ&gt;"', ids.admin);
    expect(response.status).toBe(200);
    await bot.idle();
    expect((await env.services.store.classes.getPersonByUsername('tomjerry'))?.displayName).toBe('Tom & Jerry <TJ>');
  });

  it('escapes every reply for mrkdwn, so a name cannot mention the channel or hide a link', async () => {
    calls.length = 0;
    const name = 'Eve <!channel> <https://evil.example|Reset your password> & co';
    const escaped = 'Eve &lt;!channel&gt; &lt;https://evil.example|Reset your password&gt; &amp; co';
    await slash(
      '/people',
      `add evename --name "${name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`,
      ids.admin,
    );
    await bot.idle();
    expect((await env.services.store.classes.getPersonByUsername('evename'))?.displayName).toBe(name);
    const post = calls.find((c) => c.path.startsWith('/api/chat.postMessage'))!;
    expect(String(post.body.text)).toBe(`Added evename (${escaped}) as student.`);
    calls.length = 0;
    await slash('/people', 'show evename', ids.admin);
    await bot.idle();
    const shown = calls.filter((c) => c.path.startsWith('/respond/') || c.path.startsWith('/api/chat.'));
    expect(shown).toHaveLength(1);
    expect(String(shown[0]!.body.text)).toContain(`evename — ${escaped}, student`);
    expect(String(shown[0]!.body.text)).not.toMatch(/<!channel>|<https:/);
  });

  it('runs a replayed trigger_id only once', async () => {
    const runs = async () =>
      (await env.services.store.audit.list({ actor: 'alice', action: 'command.myvm.status' })).length;
    const before = await runs();
    calls.length = 0;
    expect((await slash('/myvm', 'status', ids.alice, { triggerId: 'replayed.trigger' })).status).toBe(200);
    await bot.idle();
    const replay = await slash('/myvm', 'status', ids.alice, { triggerId: 'replayed.trigger' });
    expect(replay.status).toBe(200);
    expect(JSON.parse(replay.body)).toEqual({ response_type: 'ephemeral', text: 'This request was already handled.' });
    await bot.idle();
    expect(await runs()).toBe(before + 1);
    expect(calls.filter((c) => c.path.startsWith('/respond/'))).toHaveLength(1);
  });

  it('answers 413 to a body over the limit, announced or streamed, without running it', async () => {
    calls.length = 0;
    const body = new URLSearchParams({
      command: '/myvm',
      text: `status ${'x'.repeat(70 * 1024)}`,
      user_id: ids.alice,
      channel_id: 'C0CLASS',
      response_url: `${slackUrl}/respond/big`,
      trigger_id: 'big.1',
    }).toString();
    expect(
      (await send(body, { ...signSlackRequest(SECRET, body), 'content-length': String(Buffer.byteLength(body)) }))
        .status,
    ).toBe(413);
    expect((await send(body, { ...signSlackRequest(SECRET, body), 'transfer-encoding': 'chunked' })).status).toBe(413);
    await bot.idle();
    expect(calls).toEqual([]);
  });

  it('shows progress through the response_url where the bot cannot post, and reports a successful deploy as a success', async () => {
    calls.length = 0;
    chatError = 'channel_not_found';
    try {
      await slash('/lab', 'deploy cs202 2 ubuntu', ids.teacher2);
      await bot.idle();
    } finally {
      chatError = undefined;
    }
    const replies = calls.filter((c) => c.path.startsWith('/respond/'));
    expect(replies.length).toBeGreaterThanOrEqual(2);
    expect(replies.length).toBeLessThanOrEqual(5);
    expect(replies[0]!.body).toMatchObject({ response_type: 'in_channel' });
    expect(String(replies[0]!.body.text)).toMatch(/^cs202 ░+ 0\/4/);
    expect(replies.slice(1).every((r) => r.body.replace_original === true)).toBe(true);
    expect(String(replies.at(-1)!.body.text)).toMatch(/^cs202: 4 created, 0 kept, 0 deleted in/);
    expect(replies.some((r) => String(r.body.text).includes('went wrong'))).toBe(false);
    expect(
      (await env.services.store.classes.assignmentsOfClass('cs202')).filter((a) => a.role === 'student'),
    ).toHaveLength(2);
  });

  it('scales a class down through the Confirm button with progress that counts only what changes, and keeps serving', async () => {
    // cs202 has 2 seats from the test before; hopper's class gets alice and bob, then one seat.
    const alice = (await env.services.store.classes.getPersonByUsername('alice'))!;
    const bob = (await env.services.store.classes.getPersonByUsername('bob'))!;
    for (const s of [alice, bob])
      await env.services.store.classes.addMember({ classId: 'cs202', personId: s.id, role: 'student' });
    await slash('/lab', 'deploy cs202 2', ids.teacher2);
    await bot.idle();
    calls.length = 0;
    await slash('/lab', 'deploy cs202 1', ids.teacher2);
    await bot.idle();
    const id = JSON.stringify(calls[0]!.body.blocks).match(/"value":"([^"]+)"/)![1]!;
    calls.length = 0;
    await click('lab_confirm', id, ids.teacher2);
    await bot.idle();
    const texts = calls.filter((c) => c.path.startsWith('/api/chat.')).map((c) => String(c.body.text));
    const bars = texts
      .filter((t) => /^cs202 [▓░]+ \d+\/\d+/.test(t))
      .map((t) =>
        t
          .match(/ (\d+)\/(\d+)/)!
          .slice(1)
          .map(Number),
      );
    expect(bars.length).toBeGreaterThan(0);
    for (const [done, total] of bars) expect(done).toBeLessThanOrEqual(total!);
    expect(bars.at(-1)![0]).toBe(bars.at(-1)![1]);
    expect(calls.at(-1)!.body).toMatchObject({ replace_original: true });
    expect(String(calls.at(-1)!.body.text)).toMatch(/^cs202: \d+ created, \d+ kept, [1-9]\d* deleted in/);
    calls.length = 0;
    expect((await slash('/myvm', 'status', ids.alice)).status).toBe(200);
    await bot.idle();
    expect(calls.filter((c) => c.path.startsWith('/respond/'))).toHaveLength(1);
  });

  it('finishes a stored progress message with a deployment summary: in place, in the channel, or through the response_url', async () => {
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
    calls.length = 0;
    expect(
      await bot.finishDeployment(
        {
          notify: {
            platform: 'slack',
            channel: 'C0CLASS',
            responseUrl: `${slackUrl}/respond/old`,
            ts: '1700000000.000001',
          },
        },
        summary,
      ),
    ).toBe(true);
    expect(
      await bot.finishDeployment(
        { notify: { platform: 'slack', channel: 'C0CLASS', responseUrl: `${slackUrl}/respond/old` } },
        summary,
      ),
    ).toBe(true);
    expect(calls.map((c) => [c.path, c.body.ts, c.body.text])).toEqual([
      ['/api/chat.update', '1700000000.000001', 'cs101: 3 created, 1 kept, 0 deleted in 4.2 s.'],
      ['/api/chat.postMessage', undefined, 'cs101: 3 created, 1 kept, 0 deleted in 4.2 s.'],
    ]);
    calls.length = 0;
    chatError = 'not_in_channel';
    try {
      expect(
        await bot.finishDeployment(
          { notify: { platform: 'slack', channel: 'C0PRIVATE', responseUrl: `${slackUrl}/respond/old`, ts: '1.1' } },
          summary,
        ),
      ).toBe(true);
    } finally {
      chatError = undefined;
    }
    expect(calls.at(-1)).toEqual({
      path: '/respond/old',
      body: { response_type: 'in_channel', text: 'cs101: 3 created, 1 kept, 0 deleted in 4.2 s.' },
    });
    expect(await bot.finishDeployment({ notify: { platform: 'discord', token: 't' } }, summary)).toBe(false);
    // A reset taken over is finished in its own words, by editing its message.
    calls.length = 0;
    const reset = {
      kind: 'reset',
      classId: 'cs101',
      base: { name: 'cs101-base-v2' },
      vms: [{ name: 'cs101-alice', vmid: 105, start: false }],
    };
    expect(
      await bot.finishDeployment(
        { notify: { platform: 'slack', channel: 'C0CLASS', ts: '1700000000.000003' }, spec: reset },
        { ...summary, created: 1, kept: 0 },
      ),
    ).toBe(true);
    expect(calls.map((c) => [c.path, c.body.ts, c.body.text])).toEqual([
      ['/api/chat.update', '1700000000.000003', 'cs101-alice (105) re-created from cs101-base-v2.'],
    ]);
  });
});

describe('/lab link-me over signed Slack requests', () => {
  it('links the Slack account that types the portal code, and a forged request links nothing', async () => {
    const { store } = env.services;
    await store.classes.createPerson({ username: 'gwen', displayName: 'Gwen', role: 'student' }, 1);
    const issued = await env.router.invoke({ platform: 'cli', userId: 'gwen', command: 'myvm', text: 'link-code' });
    const code = (issued.data as { code: string }).code;

    const forged = await slash('/lab', `link-me ${code}`, 'UGWEN001', {
      headers: signSlackRequest('not-the-secret', 'x'),
    });
    expect(forged.status).toBe(401);
    expect(await store.classes.findByIdentity('slack', 'UGWEN001')).toBeUndefined();

    calls.length = 0;
    expect((await slash('/lab', `link-me ${code}`, 'UGWEN001')).status).toBe(200);
    await bot.idle();
    const replies = calls.filter((c) => c.path.startsWith('/respond/'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toMatchObject({
      response_type: 'ephemeral',
      text: 'This Slack account is now linked to gwen. /myvm status shows your VMs.',
    });
    expect((await store.classes.findByIdentity('slack', 'UGWEN001'))?.username).toBe('gwen');
    const status = await env.router.invoke({ platform: 'slack', userId: 'UGWEN001', command: 'myvm', text: 'status' });
    expect(status).toMatchObject({ text: 'You have no VM yet.' });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { issueLinkCode, redeemLinkCode, type Clock } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import * as commands from '../src/index.js';
import type { Platform, Reply } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

/** The audit action a `/lab link-me` records, as operators read it in the audit log. */
const LINK_ME_AUDIT_ACTION = 'person.link-me';

const lab = useLab(commands);
const dir = mkdtempSync(join(tmpdir(), 'lab-link-me-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (platform: Platform, userId: string, command: string, text: string): Promise<Reply> =>
  lab().router.invoke({ platform, userId, command, text });
/** A code for `username`, asked for through the router from a front end that proved who they are. */
const codeFor = async (username: string): Promise<string> => {
  const reply = await run('cli', username, 'myvm', 'link-code');
  expect(reply.error, reply.text).toBeFalsy();
  return (reply.data as { code: string }).code;
};
const student = (username: string) =>
  lab().services.store.classes.createPerson({ username, displayName: username, role: 'student' }, 1);
const INVALID = /^That link code does not work/;

describe('/lab link-me links a chat account to the person who got the code on the portal', () => {
  it('links an unknown Slack account to that person, once, and keeps the code out of the audit log', async () => {
    const { store } = lab().services;
    const carol = await student('carol');
    const code = await codeFor('carol');
    expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    const reply = await run('slack', 'UCAROL01', 'lab', `link-me ${code.toLowerCase()}`);
    expect(reply.error, reply.text).toBeFalsy();
    expect(reply.text).toBe('This Slack account is now linked to carol. /myvm status shows your VMs.');
    expect(reply.ephemeral).toBe(true);
    expect((await store.classes.findByIdentity('slack', 'UCAROL01'))?.id).toBe(carol.id);

    const again = await run('discord', '700000000000000001', 'lab', `link-me ${code}`);
    expect(again).toMatchObject({ error: true, text: expect.stringMatching(INVALID) });
    expect(await store.classes.findByIdentity('discord', '700000000000000001')).toBeUndefined();

    const audit = await store.audit.list({ action: LINK_ME_AUDIT_ACTION });
    expect(audit.map((a) => [a.actor, a.outcome, a.details.why ?? null])).toEqual([
      ['discord:700000000000000001', 'denied', 'used'],
      ['carol', 'ok', null],
    ]);
    const routed = await store.audit.list({ action: 'command.lab.link-me' });
    expect(routed.find((a) => a.outcome === 'ok')?.details.options).toEqual({ code: '[REDACTED]' });
    const everything = JSON.stringify(await store.audit.list());
    expect(everything).not.toContain(code);
    expect(everything).not.toContain(code.replace('-', ''));
  });

  it('gives no code to a chat account: the code is what proves a chat account is yours', async () => {
    const reply = await run('slack', ids.alice, 'myvm', 'link-code');
    expect(reply).toMatchObject({ error: true, text: expect.stringMatching(/comes from the lab portal/) });
  });

  it('never moves an account linked to someone else, and leaves the code usable', async () => {
    const { store } = lab().services;
    await student('dora');
    const code = await codeFor('dora');
    const stolen = await run('slack', ids.alice, 'lab', `link-me ${code}`);
    expect(stolen).toMatchObject({ error: true, text: expect.stringMatching(/linked to alice; an admin must remove/) });
    expect((await store.classes.findByIdentity('slack', ids.alice))?.username).toBe('alice');
    const [denied] = await store.audit.list({ actor: `slack:${ids.alice}`, action: LINK_ME_AUDIT_ACTION, limit: 1 });
    expect(denied?.outcome).toBe('denied');
    expect((await run('slack', 'UDORA001', 'lab', `link-me ${code}`)).error).toBeFalsy();
    expect((await store.classes.findByIdentity('slack', 'UDORA001'))?.username).toBe('dora');
  });

  it('does not give a person a second account on one platform, and says when it was linked already', async () => {
    const second = await run('slack', 'UALICE02', 'lab', `link-me ${await codeFor('alice')}`);
    expect(second).toMatchObject({
      error: true,
      text: expect.stringMatching(/alice already has another Slack account/),
    });
    const same = await run('slack', ids.alice, 'lab', `link-me ${await codeFor('alice')}`);
    expect(same).toMatchObject({ text: 'This Slack account was linked to alice already; nothing changed.' });
    expect(same.error).toBeFalsy();
  });

  it('stops a chat account guessing after five wrong codes, even with a good one', async () => {
    await student('erin');
    const code = await codeFor('erin');
    for (let i = 0; i < 5; i++)
      expect((await run('slack', 'UGUESS09', 'lab', `link-me ZZZZZ-ZZZZ${i}`)).text).toMatch(INVALID);
    const limited = await run('slack', 'UGUESS09', 'lab', `link-me ${code}`);
    expect(limited).toMatchObject({
      error: true,
      text: expect.stringMatching(/^Too many wrong link codes; wait 15 minutes/),
    });
    expect((await run('discord', '700000000000000002', 'lab', `link-me ${code}`)).error).toBeFalsy();
  });

  it('is typed in Slack or Discord, not the CLI', async () => {
    const reply = await run('cli', 'bob', 'lab', 'link-me ABCDE-FGHJK');
    expect(reply).toMatchObject({ error: true, text: expect.stringMatching(/in Slack or Discord/) });
  });
});

describe('link codes in a SQLite store', () => {
  it('are stored only as a hash, and stop working after ten minutes', async () => {
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    let now = 1_800_000_000_000;
    const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
    const fay = await store.classes.createPerson({ username: 'fay', displayName: 'Fay', role: 'student' }, now);
    const { code, expiresAt } = await issueLinkCode({ store, clock }, { personId: fay.id, actor: 'fay' });
    expect(expiresAt).toBe(now + 10 * 60_000);
    const rows = await store.db.selectFrom('link_codes').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code.replace('-', ''));
    now += 10 * 60_000 + 1;
    await expect(
      redeemLinkCode({ store, clock }, { code, platform: 'slack', externalId: 'UFAY0001' }),
    ).rejects.toMatchObject({ code: 'LAB_LINK_CODE_INVALID' });
    const [audit] = await store.audit.list({ action: LINK_ME_AUDIT_ACTION });
    expect(audit?.details).toEqual({ reason: 'invalid-code', why: 'expired' });
    expect(await store.classes.findByIdentity('slack', 'UFAY0001')).toBeUndefined();
    await store.close();
  });
});

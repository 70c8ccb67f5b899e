import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvite, joinWithInvite, type Clock } from '@lab/proxmox-sdk';
import { openStore } from '@lab/proxmox-store';
import * as commands from '../src/index.js';
import type { CommandRouter, LabServices, Reply } from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-onboarding-'));
let env: Awaited<ReturnType<typeof lab>>;
let router: CommandRouter;
let services: LabServices;

beforeAll(async () => {
  const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
  env = await lab(commands, { store });
  ({ router, services } = env);
});
afterAll(async () => {
  await env.close();
  await services.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const slack = (userId: string, command: string, text: string, options?: Record<string, unknown>): Promise<Reply> =>
  router.invoke({ platform: 'slack', userId, command, text, ...(options ? { options } : {}) });
const cli = (user: string, command: string, text: string, options?: Record<string, unknown>): Promise<Reply> =>
  router.invoke({ platform: 'cli', userId: user, command, text, ...(options ? { options } : {}) });
const ok = (reply: Reply): Reply => {
  expect(reply.error, reply.text).toBeFalsy();
  return reply;
};

describe('/lab link cannot be used to gain privileges', () => {
  beforeAll(async () => {
    ok(await cli('root', 'people', 'add carl --name "Carl Cross"'));
    ok(await slack(ids.teacher2, 'class', 'enrol cs202 carl'));
  });

  it.each([
    ['an admin', 'link <@UEVIL01> root cs101', /root is an admin/],
    ['a teacher', 'link <@UEVIL02> hopper cs101', /hopper is a teacher/],
    ['a student of another class', 'link <@UEVIL03> carl cs101', /carl is a student of cs202, which you do not teach/],
    [
      'a student of their class who already has an account',
      'link <@UEVIL04> alice cs101',
      /alice already has a Slack account linked/,
    ],
    ['a class they do not teach', 'link <@UEVIL05> newkid cs202', /you do not teach cs202/],
    ['a new student without a class', 'link <@UEVIL06> newkid', /name the class/],
  ])('refuses a teacher linking a chat account to %s, and audits it', async (_what, text, message) => {
    const reply = await slack(ids.teacher, 'lab', text);
    expect(reply.error).toBe(true);
    expect(reply.text).toMatch(message);
    const account = /<@(\w+)>/.exec(text)![1]!;
    expect(await services.store.classes.findByIdentity('slack', account)).toBeUndefined();
    expect(await services.store.classes.getPersonByUsername('newkid')).toBeUndefined();
    const [last] = await services.store.audit.list({ actor: 'lovelace', action: 'command.lab.link', limit: 1 });
    expect(last).toMatchObject({ outcome: 'denied' });
  });

  it('refuses an account that is already linked to someone else', async () => {
    const reply = await slack(ids.teacher, 'lab', `link <@${ids.bob}> newkid cs101`);
    expect(reply).toMatchObject({ error: true });
    expect(reply.text).toMatch(/already linked to bob/);
  });

  it('refuses a mention that did not resolve to a user id, and stores nothing', async () => {
    const reply = await slack(ids.teacher, 'lab', 'link @alice2 newkid cs101');
    expect(reply.text).toBe(
      "'@alice2' is not a slack user id; mention the user so it becomes a link (<@U0123ABCD>) or give their id",
    );
    expect(await services.store.classes.getPersonByUsername('newkid')).toBeUndefined();
  });

  it('lets a teacher link a new student of their own class, and an admin link anyone', async () => {
    ok(await slack(ids.teacher, 'lab', 'link <@UKID0001|kid> newkid cs101'));
    expect((await services.store.classes.findByIdentity('slack', 'UKID0001'))?.username).toBe('newkid');
    ok(await cli('root', 'people', 'add grace --name "Grace G" --role teacher'));
    ok(await cli('root', 'people', 'link grace --slack <@UGRACE01> --discord 123456789012345678'));
    expect((await services.store.classes.findByIdentity('discord', '123456789012345678'))?.username).toBe('grace');
    // One account per person per platform: grace's Slack account must go before another is linked.
    expect((await cli('root', 'people', 'link grace --slack <@UGRACE02>')).text).toMatch(
      /already has a slack account linked; unlink it/,
    );
    expect(ok(await cli('root', 'people', 'unlink grace slack')).text).toMatch(
      /^Unlinked the slack account UGRACE01 from grace/,
    );
    ok(await cli('root', 'people', 'link grace --slack <@UGRACE02>'));
    expect((await services.store.classes.findByIdentity('slack', 'UGRACE02'))?.username).toBe('grace');
    const [unlinked] = await services.store.audit.list({ action: 'identity.unlink', limit: 1 });
    expect(unlinked).toMatchObject({
      actor: 'root',
      outcome: 'ok',
      details: { platform: 'slack', externalId: 'UGRACE01' },
    });
    expect((await cli('root', 'people', 'link hopper --slack alice')).text).toMatch(/is not a slack user id/);
  });
});

describe('invites', () => {
  let code: string;
  beforeAll(async () => {
    ok(await cli('root', 'people', 'add dora --name "Dora D" --email dora@school.example'));
    ok(await slack(ids.teacher2, 'class', 'enrol cs202 dora'));
    const reply = ok(await slack(ids.teacher2, 'lab', 'invite cs202 --uses 3 --days 2'));
    code = (reply.data as { code: string }).code;
  });

  it('gives a teacher a short code for their class only, and stores only its hash', async () => {
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    const refused = await slack(ids.teacher, 'lab', 'invite cs202');
    expect(refused).toMatchObject({ error: true });
    const [invite] = await services.store.invites.listForClass('cs202');
    expect(invite).toMatchObject({ maxUses: 3, uses: 0 });
    expect(invite!.codeHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('asks an unknown student which roster name is theirs, and links them only once a teacher of the class approves', async () => {
    const which = await slack('UDORA001', 'lab', `join ${code}`);
    expect(which.text).toMatch(/^Say which student of cs202 you are/);
    const told: Array<[string, string]> = [];
    services.notifier = {
      notifyPerson: async (person, text) => {
        told.push([person.username, text]);
        return true;
      },
    };
    const asked = ok(await slack('UDORA001', 'lab', `join ${code.toLowerCase()} dora`));
    delete services.notifier;
    expect(asked.text).toMatch(
      /^Your request to join cs202 as dora waits for a teacher of cs202 to approve it \(they have been told\)/,
    );
    // Only cs202's teacher hears of it, with the request to approve or reject.
    expect(told.map(([who]) => who)).toEqual(['hopper']);
    expect(told[0]![1]).toMatch(/asks to join cs202 as dora .*people approve [A-Z0-9]{8}; otherwise people reject/);
    expect(await services.store.classes.findByIdentity('slack', 'UDORA001')).toBeUndefined();
    const { request } = asked.data as { request: string };
    // Asking again gives the same request; a teacher of another class cannot decide it.
    expect((ok(await slack('UDORA001', 'lab', `join ${code} dora`)).data as { request: string }).request).toBe(request);
    expect(ok(await slack(ids.teacher2, 'people', 'requests')).text).toContain(
      `${request}: the slack account UDORA001 claims to be dora in cs202`,
    );
    const foreign = await slack(ids.teacher, 'people', `approve ${request}`);
    expect(foreign).toMatchObject({ error: true });
    expect(foreign.text).toMatch(/cs202, which you do not teach/);
    expect(ok(await slack(ids.teacher2, 'people', `approve ${request.toLowerCase()}`)).text).toBe(
      'Approved: the slack account UDORA001 is now dora in cs202.',
    );
    expect((await slack(ids.teacher2, 'people', `reject ${request}`)).text).toMatch(/is already approved/);
    const dora = await services.store.classes.findByIdentity('slack', 'UDORA001');
    expect(dora?.username).toBe('dora');
    expect(
      (await services.store.classes.members('cs202')).some((m) => m.personId === dora!.id && m.role === 'student'),
    ).toBe(true);
  });

  it('works once per student', async () => {
    const again = await slack('UDORA001', 'lab', `join ${code}`);
    expect(again).toMatchObject({ error: true });
    expect(again.text).toMatch(/already joined cs202 with this code/);
    expect((await services.store.invites.listForClass('cs202'))[0]!.uses).toBe(1);
  });

  it('creates a new student from the chat account when the roster has nobody waiting', async () => {
    const carl = ok(await slack('UCARL001', 'lab', `join ${code} carl`));
    ok(await cli('root', 'people', `approve ${(carl.data as { request: string }).request}`));
    // Every cs202 student has a chat account now: someone else with the code, on another platform,
    // cannot claim one of their names (and uses nothing of the code).
    const claim = await router.invoke({
      platform: 'discord',
      userId: '998877665544332211',
      command: 'lab',
      subcommand: 'join',
      options: { code, username: 'dora' },
    });
    expect(claim).toMatchObject({ error: true });
    expect(claim.text).toMatch(/^'dora' already has a chat account, so an invite code cannot claim that name/);
    expect(await services.store.classes.findByIdentity('discord', '998877665544332211')).toBeUndefined();
    expect((await services.store.classes.getPersonByUsername('dora'))!.id).toBe(
      (await services.store.classes.findByIdentity('slack', 'UDORA001'))!.id,
    );
    expect((await services.store.invites.listForClass('cs202'))[0]!.uses).toBe(2);
    const reply = ok(await slack('UNEWBIE1', 'lab', `join ${code}`));
    expect(reply.text).toMatch(/^Welcome to cs202, slack-unewbie1!/);
    expect((await services.store.invites.listForClass('cs202'))[0]!.uses).toBe(3);
    expect((await slack('UNEWBIE2', 'lab', `join ${code}`)).text).toMatch(/^That invite code does not work/);
  });

  it('lets a roster name whose only account is a web sign-in be claimed from chat, as a request', async () => {
    const { store } = services;
    const now = Date.now();
    await store.classes.createClass({ id: 'web101', name: 'Web 101', templateId: null, ownerId: null }, now);
    const wendy = await store.classes.createPerson({ username: 'wendy', displayName: 'Wendy', role: 'student' }, now);
    await store.classes.addMember({ classId: 'web101', personId: wendy.id, role: 'student' });
    await store.classes.linkIdentity({ personId: wendy.id, platform: 'web', externalId: 'https://sso.example#wendy' });
    const invite = ok(await cli('root', 'lab', 'invite web101'));
    const claim = ok(await slack('UWENDY01', 'lab', `join ${(invite.data as { code: string }).code} wendy`));
    expect(claim.text).toMatch(/^Your request to join web101 as wendy waits for a teacher of web101 to approve it/);
  });

  it('lets a student unlink only their own account and a teacher a student of theirs, audited', async () => {
    const refused = await slack('UCARL001', 'lab', 'unlink dora');
    expect(refused).toMatchObject({ error: true });
    expect(refused.text).toMatch(/you may unlink only your own account/);
    expect((await services.store.classes.findByIdentity('slack', 'UDORA001'))?.username).toBe('dora');
    expect(ok(await slack(ids.teacher2, 'lab', 'unlink dora')).text).toMatch(
      /^Unlinked the slack account UDORA001 from dora/,
    );
    expect(await services.store.classes.findByIdentity('slack', 'UDORA001')).toBeUndefined();
    expect(ok(await slack('UNEWBIE1', 'lab', 'unlink')).text).toMatch(
      /^Unlinked the slack account UNEWBIE1 from slack-unewbie1/,
    );
    expect(await services.store.classes.findByIdentity('slack', 'UNEWBIE1')).toBeUndefined();
    const audited = await services.store.audit.list({ action: 'identity.unlink', limit: 3 });
    expect(audited.map((a) => [a.actor, a.outcome])).toEqual([
      ['slack-unewbie1', 'ok'],
      ['hopper', 'ok'],
      ['carl', 'denied'],
    ]);
  });

  it('answers a guessed code like an expired one, rate-limits guessing per chat account, audits it and keeps codes out of the log', async () => {
    const guess = await slack('UGUESS01', 'lab', 'join ABCDE-FGHJK');
    expect(guess.text).toBe(
      'That invite code does not work: it may be mistyped, expired or used up. Check it, or ask your teacher for a new one.',
    );
    for (let i = 0; i < 4; i++) await slack('UGUESS01', 'lab', `join ZZZZZ-ZZZZ${i}`);
    const limited = await slack('UGUESS01', 'lab', `join ${code}`);
    expect(limited.text).toMatch(/^Too many wrong invite codes/);
    expect(await services.store.classes.findByIdentity('slack', 'UGUESS01')).toBeUndefined();
    const attempts = await services.store.audit.list({ actor: 'slack:UGUESS01', action: 'invite.join' });
    expect(attempts.map((a) => a.details.reason)).toEqual([
      'rate-limited',
      'invalid-code',
      'invalid-code',
      'invalid-code',
      'invalid-code',
      'invalid-code',
    ]);
    expect(JSON.stringify(await services.store.audit.list())).not.toContain(code);
    // Another account is not affected by this one's guesses.
    expect((await slack('UOTHER01', 'lab', 'join ABCDE-FGHJK')).text).toMatch(/^That invite code does not work/);
  });

  it('expire', async () => {
    let now = Date.UTC(2026, 0, 5);
    const clock: Clock = { now: () => now, sleep: async () => undefined };
    const { code: short } = await createInvite(
      { store: services.store, clock },
      { classId: 'cs101', createdBy: null, validForMs: 60_000 },
    );
    now += 60_001;
    const late = await joinWithInvite(
      { store: services.store, clock },
      { code: short, platform: 'slack', externalId: 'ULATE001' },
    ).catch((e: unknown) => e);
    expect((late as Error).message).toBe(
      'That invite code does not work: it may be mistyped, expired or used up. Check it, or ask your teacher for a new one.',
    );
  });
});

describe('conflicting join requests and unlinking from the command line', () => {
  it('flags two requests claiming one roster name, and a claim for a name already linked on that platform', async () => {
    ok(await cli('root', 'people', 'add ezra --name "Ezra E"'));
    ok(await slack(ids.teacher2, 'class', 'enrol cs202 ezra'));
    const code = (ok(await slack(ids.teacher2, 'lab', 'invite cs202 --uses 5')).data as { code: string }).code;
    const first = (ok(await slack('UEZRA001', 'lab', `join ${code} ezra`)).data as { request: string }).request;
    const second = (ok(await slack('UEZRA002', 'lab', `join ${code} ezra`)).data as { request: string }).request;
    expect(second).not.toBe(first);
    const ezra = (await services.store.classes.getPersonByUsername('ezra'))!;
    await services.store.classes.linkIdentity({ personId: ezra.id, platform: 'slack', externalId: 'UEZRA009' });

    const listed = ok(await slack(ids.teacher2, 'people', 'requests'));
    const line = (id: string) => listed.text.split('\n').find((l) => l.startsWith(`${id}:`)) ?? '';
    expect(line(first)).toMatch(
      new RegExp(
        `claims to be ezra in cs202 — conflict: request ${second} \\(the slack account UEZRA002\\) claims ezra too`,
      ),
    );
    expect(line(first)).toContain('ezra already has the slack account UEZRA009 linked');
    expect(line(second)).toContain(`request ${first} (the slack account UEZRA001) claims ezra too`);
    expect(listed.text).toContain('Conflicting claims: approve at most one per name');
    const data = listed.data as Array<{ id: string; conflicts: string[]; codeHash?: string }>;
    const firstData = data.find((r) => r.id === first)!;
    expect(firstData.conflicts).toEqual([
      `request ${second} (the slack account UEZRA002) claims ezra too`,
      'ezra already has the slack account UEZRA009 linked',
    ]);
    expect(firstData.codeHash).toBeUndefined();
    const alone = data.filter((r) => r.id !== first && r.id !== second);
    expect(alone.every((r) => r.conflicts.length === 0)).toBe(true);
  });

  it('tells a student on the command line how to unlink their chat account, not a teacher command', async () => {
    const told = await cli('ezra', 'lab', 'unlink');
    expect(told).toMatchObject({ error: true });
    expect(told.text).not.toMatch(/people unlink/);
    expect(told.text).toMatch(
      /^Your chat account is unlinked from the chat itself: type \/lab unlink in Slack or Discord/,
    );
    expect(told.text).toMatch(/ask your teacher to unlink it\.$/);
    expect((await cli('hopper', 'lab', 'unlink ezra')).text).toMatch(/^Here use people unlink <username>/);
  });
});

describe('roster import', () => {
  const header = 'username,name,email,role,class,slack,discord';
  const roster = [
    header,
    ...Array.from({ length: 30 }, (_, i) => {
      const n = String(i + 1).padStart(2, '0');
      return `r${n},"Roster, Student ${n}",r${n}@school.example,student,cs101,UR00${n}ABC,${i % 2 ? `1000000000000000${n}` : ''}`;
    }),
  ].join('\n');

  it('shows what a 30-row roster would change without changing anything, then imports it in one go', async () => {
    const dry = ok(await cli('root', 'people', 'import', { csv: roster }));
    expect(dry.text).toMatch(/^Dry run: 30 of 30 row\(s\) would change/);
    expect(await services.store.classes.getPersonByUsername('r01')).toBeUndefined();
    const applied = ok(await cli('root', 'people', 'import --apply', { csv: roster }));
    expect(applied.text).toMatch(/^Imported 30 row\(s\); 30 changed/);
    const r07 = await services.store.classes.getPersonByUsername('r07');
    expect(r07).toMatchObject({ displayName: 'Roster, Student 07', email: 'r07@school.example', role: 'student' });
    expect(await services.store.classes.identitiesOf(r07!.id)).toEqual([
      { personId: r07!.id, platform: 'slack', externalId: 'UR0007ABC' },
    ]);
    const members = await services.store.classes.members('cs101');
    expect(members.filter((m) => m.role === 'student').length).toBeGreaterThanOrEqual(32);
  });

  it('is a no-op the second time', async () => {
    const before = (await services.store.classes.listPeople()).length;
    const again = ok(await cli('root', 'people', 'import --apply', { csv: roster }));
    expect(again.text).toBe('All 30 row(s) already match the lab; nothing to change.');
    expect((await services.store.classes.listPeople()).length).toBe(before);
  });

  it('imports nothing from a file with a bad row, and names every bad line', async () => {
    const bad = [
      'class,username,name,slack',
      'cs101,good1,Good One,',
      'cs101,Bad User,Nope,',
      'cs999,good2,Unknown class,',
      `cs101,good3,Taken account,${ids.alice}`,
      'cs101,good1,Twice,',
      '',
      'cs101,good4,"Bad ""quote"" ok",',
    ].join('\n');
    const withRole = `username,role\ngood5,wizard\n`;
    const reply = await cli('root', 'people', 'import --apply', { csv: bad });
    expect(reply).toMatchObject({ error: true });
    expect(reply.text.split('\n')).toEqual([
      '4 bad row(s); nothing was imported. Fix them and run again:',
      "line 3: 'Bad User' is not a username (2–32 lower-case letters, digits, dots, dashes or underscores, starting with a letter)",
      "line 4: unknown class 'cs999'; create it first with class create",
      `line 5: Slack account ${ids.alice} is already linked to alice`,
      "line 6: username 'good1' is already on line 2",
    ]);
    expect(await services.store.classes.getPersonByUsername('good1')).toBeUndefined();
    expect(await services.store.classes.getPersonByUsername('good4')).toBeUndefined();
    expect((await cli('root', 'people', 'import --apply', { csv: withRole })).text).toMatch(
      /^1 bad row\(s\); nothing was imported.*\nline 2: unknown role 'wizard'/s,
    );
    const quotes = await cli('root', 'people', 'import', { csv: 'username,name\nok1,Fine\nbad,"Unclosed "quote\n' });
    expect(quotes.text).toMatch(/^1 bad row\(s\)\. Fix them and run again:\nline 3: malformed CSV/);
  });

  it('cleans names of control and text-direction characters and refuses names over 200 characters', async () => {
    const huge = 'A'.repeat(5 * 1024 * 1024);
    const csv = [
      'username,name',
      'clean1,"Ada\u202E\u0007  Love\u2028\tlace\u200B"',
      `long1,${'B'.repeat(201)}`,
      `huge1,${huge}`,
      'blank1,"\u202E\u2066\u0000"',
    ].join('\n');
    const reply = await cli('root', 'people', 'import --apply', { csv });
    expect(reply.text.split('\n')).toEqual([
      '3 bad row(s); nothing was imported. Fix them and run again:',
      'line 3: name: the name has 201 characters; shorten it to at most 200',
      `line 4: name: the name has ${huge.length} characters; shorten it to at most 200`,
      'line 5: name: the name is empty once control and text-direction characters are removed; give a name with letters',
    ]);
    const fine = ok(await cli('root', 'people', 'import --apply', { csv: csv.split('\n').slice(0, 2).join('\n') }));
    expect(fine.text).toContain('add Ada Love lace as student');
    expect((await services.store.classes.getPersonByUsername('clean1'))?.displayName).toBe('Ada Love lace');
    const added = await cli('root', 'people', 'add', { username: 'clean2', name: `<!channel>\u202E${'C'.repeat(20)}` });
    expect((await services.store.classes.getPersonByUsername('clean2'))?.displayName).toBe(
      `<!channel>${'C'.repeat(20)}`,
    );
    expect(added.text).toBe(`Added clean2 (<!channel>${'C'.repeat(20)}) as student.`);
    const tooLong = await cli('root', 'people', 'add', { username: 'clean3', name: 'D'.repeat(5000) });
    expect(tooLong).toMatchObject({ error: true });
    expect(tooLong.text).toMatch(/the name has 5000 characters; shorten it to at most 200/);
    expect(await services.store.classes.getPersonByUsername('clean3')).toBeUndefined();
  });

  it('is for admins only, and never reads a file on the server', async () => {
    expect((await slack(ids.teacher, 'people', 'import --apply', { csv: roster })).text).toBe(
      '/people import is for admins; you are a teacher.',
    );
    const path = await cli('root', 'people', 'import /etc/passwd');
    expect(path.text).toMatch(/unknown column\(s\) '\/etc\/passwd'/);
  });
});

describe('classes and templates', () => {
  it('registers a template only when every mapping checks out on the cluster, naming the node that does not', async () => {
    const bad = await cli('root', 'template', 'add broken --map pve1=9000 --map pve2=4242');
    expect(bad).toMatchObject({ error: true });
    expect(bad.text).toMatch(/VMID 4242 on pve2: does not exist/);
    expect(await services.store.templates.getByName('broken')).toBeUndefined();
    const noNode = await cli('root', 'template', 'add nowhere --map pve9=9000');
    expect(noNode).toMatchObject({ error: true });
    expect(noNode.text).toBe(
      "template 'nowhere' cannot be used: node pve9 does not exist in cluster 'lab'; its nodes are pve1, pve2, pve3",
    );
    expect(await services.store.templates.getByName('nowhere')).toBeUndefined();
    ok(await cli('root', 'template', 'add ubuntu-24.04 --map pve1=9000,pve2=9100 --memory 1024 --cores 1'));
    expect((await cli('root', 'template', 'show ubuntu-24.04')).text).toMatch(
      /^ubuntu-24\.04 \(1024 MiB, 1 cores\): pve1=9000, pve2=9100/,
    );
    expect((await slack(ids.teacher, 'template', 'list')).text).toContain('ubuntu-24.04');
    expect((await slack(ids.teacher, 'template', 'add x --map pve1=9000')).error).toBe(true);
  });

  it('scans, filters, counts and checks the template VMs of the cluster', async () => {
    const scan = ok(await cli('root', 'template', 'scan --node pve2'));
    expect(scan.text).toMatch(/^lab: \d+ template\(s\)/);
    expect((scan.data as { templates: Array<{ node: string }> }).templates.every((t) => t.node === 'pve2')).toBe(true);
    expect(ok(await cli('root', 'template', 'scan --vmid 9000 --replicas=false')).text).toMatch(/lab\/pve1 9000/);
    expect(ok(await cli('root', 'template', 'nodes 9000')).text).toMatch(/lab\/pve1: 9000/);
    expect(ok(await cli('root', 'template', 'stats')).text).toMatch(/^\d+ template\(s\):/);
    expect(ok(await cli('root', 'template', 'check')).text).toMatch(/^\d+ of \d+ template VM\(s\) healthy/);
  });

  it('template scan shows each template with the health template check reports, not "unknown"', async () => {
    await services.store.templateInventory.setHealth('lab', 'pve2', 9100, 'unknown', Date.now());
    const scan = ok(await cli('root', 'template', 'scan'));
    const check = ok(await cli('root', 'template', 'check'));
    const problems = (check.data as { problems: Array<{ node: string; vmid: number; health: string }> }).problems;
    const scanned = (scan.data as { templates: Array<{ node: string; vmid: number; health: string }> }).templates;
    expect(scanned.length).toBeGreaterThan(0);
    for (const t of scanned)
      expect(`${t.node}/${t.vmid} ${t.health}`).toBe(
        `${t.node}/${t.vmid} ${problems.find((p) => p.node === t.node && p.vmid === t.vmid)?.health ?? 'ok'}`,
      );
    expect(scan.text).not.toMatch(/— unknown/);
  });

  it('creates a class with a teacher and a template, so /lab deploy needs no template', async () => {
    ok(
      await cli('root', 'class', 'create bio101 --name "Intro to Biology" --teacher lovelace --template ubuntu-24.04'),
    );
    expect((await slack(ids.teacher2, 'class', 'show bio101')).error).toBe(true);
    ok(await cli('root', 'people', 'add erin --name Erin'));
    ok(await slack(ids.teacher, 'class', 'enrol bio101 erin'));
    expect((await slack(ids.teacher, 'class', 'enrol bio101 hopper')).text).toMatch(/hopper is not a student/);
    const show = ok(await slack(ids.teacher, 'class', 'show bio101'));
    expect(show.text).toContain('teachers: lovelace; template: ubuntu-24.04');
    expect(show.text).toContain('erin (Erin) — not linked yet');
    const deployed = ok(await slack(ids.teacher, 'lab', 'deploy bio101 1'));
    expect(deployed.text).toMatch(/^bio101: 3 created/);
    ok(await cli('root', 'class', 'add-teacher bio101 hopper'));
    ok(await slack(ids.teacher2, 'class', 'unenrol bio101 erin'));
    expect((await slack(ids.teacher, 'class', 'create x101 --name X')).text).toBe(
      '/class create is for admins; you are a teacher.',
    );
  });

  it('removes a person only when they own no VM, unless forced', async () => {
    // Unenrolled above, erin's VM became a free seat; give it back to her.
    const seat = (await services.store.classes.assignmentsOfClass('bio101')).find((a) => a.role === 'student')!;
    expect(seat.personId).toBeNull();
    const erin = (await services.store.classes.getPersonByUsername('erin'))!;
    await services.store.classes.assignVm({ ...seat, personId: erin.id }, 1);
    const refused = await cli('root', 'people', 'remove erin');
    expect(refused.text).toMatch(/^erin still owns 1 VM\(s\)/);
    ok(await cli('root', 'people', 'set-role erin teacher'));
    const removed = ok(await cli('root', 'people', 'remove erin --force'));
    expect(removed.text).toBe('Removed erin; their 1 VM(s) now have no owner.');
    expect(await services.store.classes.getPersonByUsername('erin')).toBeUndefined();
  });
});

describe('invite defaults', () => {
  it('an invite without --uses works for as many students as the roster has (30 for an empty roster)', async () => {
    const { store } = services;
    await store.classes.createClass({ id: 'big32', name: 'Big', templateId: null, ownerId: null }, Date.now());
    await store.classes.createClass({ id: 'open1', name: 'Open', templateId: null, ownerId: null }, Date.now());
    for (let i = 0; i < 32; i++) {
      const p = await store.classes.createPerson(
        { username: `big${i}`, displayName: `Big ${i}`, role: 'student' },
        Date.now(),
      );
      await store.classes.addMember({ classId: 'big32', personId: p.id, role: 'student' });
    }
    const big = ok(await cli('root', 'lab', 'invite big32'));
    expect(big.text).toContain('it works for 32 student(s)');
    expect((await store.invites.listForClass('big32'))[0]).toMatchObject({ maxUses: 32 });
    const open = ok(await cli('root', 'lab', 'invite open1'));
    expect(open.text).toContain('it works for 30 student(s)');
    const chosen = ok(await cli('root', 'lab', 'invite big32 --uses 5'));
    expect(chosen.text).toContain('it works for 5 student(s)');
  });
});

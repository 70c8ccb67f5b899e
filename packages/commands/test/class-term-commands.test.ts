import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@lab/proxmox-sdk';
import type { CommandRouter, LabServices, Reply } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands, { deploy: 'cs101 2' });
let router: CommandRouter;
let services: LabServices;
beforeAll(() => {
  ({ router, services } = current());
});

const as = (userId: string, text: string): Promise<Reply> =>
  router.invoke({ platform: 'slack', userId, command: 'lab', text });
const ok = (reply: Reply): Reply => {
  expect(reply.error, reply.text).toBeFalsy();
  return reply;
};
const refused = (reply: Reply): string => {
  expect(reply.error, reply.text).toBe(true);
  return reply.text;
};

describe('/lab limits: the idle signals per class', () => {
  it('turns on nobody-logged-in, never-connected and the console rule, says so, and keeps the others', async () => {
    const reply = ok(
      await as(
        ids.teacher,
        'limits cs101 --idle-minutes 30 --idle-users on --never-connected-minutes 20 --console-keeps-on off',
      ),
    );
    expect(reply.text).toContain('idle nobody logged in for 30 min');
    expect(reply.text).toContain('open console does not keep a VM on');
    expect(reply.text).toContain('never connected stop after 20 min');
    expect(await services.store.usage.policy('cs101')).toMatchObject({
      idleForMinutes: 30,
      idleCpuBelowPercent: null,
      idleUsers: true,
      consoleNeverIdle: false,
      neverConnectedMinutes: 20,
    });
    const both = ok(
      await as(ids.teacher, 'limits cs101 --idle-cpu 5 --console-keeps-on on --never-connected-minutes 0'),
    );
    expect(both.text).toContain('idle below 5% CPU and nobody logged in for 30 min');
    expect(both.text).toContain('open console keeps a VM on');
    expect(both.text).toContain('never connected off');
    const policy = (await services.store.usage.policy('cs101'))!;
    expect(policy.consoleNeverIdle).toBeUndefined();
    expect(policy.neverConnectedMinutes).toBeUndefined();
    expect(refused(await as(ids.teacher, 'limits cs101 --idle-users maybe'))).toContain('say on or off');
    expect(refused(await as(ids.teacher2, 'limits cs101 --idle-users on'))).toMatch(/you teach cs202/);
  });
});

describe('/lab quota', () => {
  it('refuses a class without a quota, then adds hours once per key, audited once, and shows them in /lab usage', async () => {
    expect(refused(await as(ids.teacher, 'quota cs101 alice +5h'))).toContain('cs101 has no quota');
    ok(await as(ids.teacher, 'limits cs101 --quota-hours 10'));
    const added = ok(await as(ids.teacher, 'quota cs101 alice +5h --key exam-week'));
    expect(added.text).toBe("Added 5 h to alice's hours in cs101. alice now has 15 h in cs101 (15 h left).");
    const again = ok(await as(ids.teacher, 'quota cs101 alice +5h --key exam-week'));
    expect(again.text).toMatch(
      /^This top-up \(key exam-week\) was applied already, 5 h by lovelace; nothing was added again/,
    );
    ok(await as(ids.admin, 'quota cs101 alice +30m'));
    const audits = await services.store.audit.list({ action: 'quota.top-up' });
    expect(audits.map((a) => [a.actor, a.details.hours])).toEqual([
      ['root', 0.5],
      ['lovelace', 5],
    ]);
    const usage = ok(await as(ids.teacher, 'usage cs101'));
    expect(usage.text).toContain('alice: 0 min used, 15.5 h left (top-ups +5.5 h), ');
    expect(usage.text).toMatch(/bob: 0 min used, 10 h left, \d running/);
  });

  it('refuses negative, zero and unreadable amounts, someone not in the class, other teachers and students', async () => {
    expect(refused(await as(ids.teacher, 'quota cs101 alice -5h'))).toContain('a top-up only adds them');
    expect(refused(await as(ids.teacher, 'quota cs101 alice 0h'))).toContain('is not an amount of time to add');
    expect(refused(await as(ids.teacher, 'quota cs101 alice lots'))).toContain('+5h, 1.5h or +30m');
    expect(refused(await as(ids.teacher, 'quota cs101 hopper +1h'))).toContain('hopper is not a student of cs101');
    expect(refused(await as(ids.teacher2, 'quota cs101 alice +1h'))).toMatch(/you teach cs202/);
    expect(refused(await as(ids.alice, 'quota cs101 alice +100h'))).toBeTruthy();
    expect(refused(await as(ids.teacher, 'quota cs101 alice +0.0001h'))).toContain(
      "'+0.0001h' is not an amount of time to add",
    );
    expect(await services.store.usage.topUps('cs101')).toHaveLength(2);
  });

  it('refuses a key used already for another student or amount, instead of silently adding nothing', async () => {
    const before = await services.store.usage.topUps('cs101');
    expect(refused(await as(ids.teacher, 'quota cs101 bob +5h --key exam-week'))).toBe(
      'The key exam-week was used already in cs101 for another top-up (5 h for alice, by lovelace); nothing was added. Give each top-up its own --key.',
    );
    expect(refused(await as(ids.teacher, 'quota cs101 alice +2h --key exam-week'))).toContain(
      'for another top-up (5 h for alice',
    );
    ok(await as(ids.teacher, 'quota cs101 alice +5h --key exam-week'));
    expect(await services.store.usage.topUps('cs101')).toEqual(before);
  });
});

describe('/lab usage: the cost estimate', () => {
  it('prices each student’s running time from the configured rates, per student and for the class, and in the CSV', async () => {
    const { store, clock } = services;
    const aliceVm = (await store.classes.assignmentsOfClass('cs101')).find((a) => a.role === 'student' && a.personId)!;
    const row = (await store.inventory.get(aliceVm.clusterId, aliceVm.vmid))!;
    const owner = (await store.classes.getPerson(aliceVm.personId!))!.username;
    const now = clock.now();
    await store.usage.closeInterval(aliceVm.clusterId, aliceVm.vmid, now);
    await store.usage.openInterval(aliceVm.clusterId, aliceVm.vmid, now - 5 * 3_600_000);
    await store.usage.closeInterval(aliceVm.clusterId, aliceVm.vmid, now - 3 * 3_600_000);
    const intervals = await store.usage.intervals([aliceVm]);
    const runHours = intervals.reduce((sum, i) => sum + ((i.endedAt ?? now) - i.startedAt), 0) / 3_600_000;
    services.costs = { perVcpuHour: 0.04, perGiBHour: 0.01, currency: 'EUR' };
    try {
      const expected = Math.round(runHours * (row.cores! * 0.04 + (row.memory! / 1024) * 0.01) * 100) / 100;
      expect(expected).toBeGreaterThan(0);
      const usage = ok(await as(ids.teacher, 'usage cs101'));
      expect(usage.text).toContain(`about ${expected.toFixed(2)} EUR`);
      expect(usage.text).toMatch(/Cost estimate for cs101: about \d+\.\d\d EUR \(all running time, sessions included/);
      expect((usage.data as Array<{ username: string; cost: number }>).find((r) => r.username === owner)?.cost).toBe(
        expected,
      );
      const csv = ok(await as(ids.teacher, 'usage cs101 --csv'));
      expect(csv.attachments?.[0]).toMatchObject({ filename: 'cs101-usage.csv', contentType: 'text/csv' });
      const line = String(csv.attachments![0]!.content)
        .split('\r\n')
        .find((l) => l.startsWith(`${owner},`))!;
      expect(line.split(',').slice(-3)).toEqual([runHours.toFixed(2), expected.toFixed(2), 'EUR']);
    } finally {
      delete services.costs;
    }
  });
});

describe('/lab audit', () => {
  it('gives a teacher the latest 20 entries of their own class, and only with a class', async () => {
    for (let i = 0; i < 25; i++) ok(await as(ids.teacher, `limits cs101 --idle-warn-minutes ${(i % 5) + 1}`));
    const reply = ok(await as(ids.teacher, 'audit cs101'));
    const entries = (reply.data as { entries: AuditRecord[] }).entries;
    expect(entries).toHaveLength(20);
    expect(entries.every((e) => JSON.stringify(e).includes('cs101'))).toBe(true);
    expect(reply.text.split('\n').at(-1)).toBe(
      '(the latest 20; older ones with --page 2, or narrow with --person, --action or --since)',
    );
    // Pages count positions among the matching entries; the audit reads themselves are left out here.
    const limits = 'audit cs101 --action command.lab.limits';
    const newest = (ok(await as(ids.teacher, limits)).data as { entries: AuditRecord[] }).entries;
    const older = ok(await as(ids.teacher, `${limits} --page 2`));
    const olderEntries = (older.data as { entries: AuditRecord[] }).entries;
    expect(newest).toHaveLength(20);
    expect(olderEntries.length).toBeGreaterThan(0);
    expect(olderEntries[0]!.at).toBeLessThanOrEqual(newest.at(-1)!.at);
    expect(olderEntries.some((e) => newest.some((n) => n.id === e.id))).toBe(false);
    expect(older.text.split('\n').at(-1)).not.toContain('--page 3');
    expect(refused(await as(ids.teacher, 'audit'))).toContain('Name one of your classes, e.g. /lab audit cs101');
    expect(refused(await as(ids.teacher2, 'audit cs101'))).toMatch(/you teach cs202/);
    expect(refused(await as(ids.alice, 'audit cs101'))).toBeTruthy();
  });

  it('lets an admin filter the whole log by action, person and --since, and refuses a since it cannot read', async () => {
    const reply = ok(await as(ids.admin, 'audit --action quota.top-up --since 1d'));
    expect((reply.data as { entries: AuditRecord[] }).entries.map((e) => e.actor)).toEqual(['root', 'lovelace']);
    const mine = ok(await as(ids.admin, 'audit --person lovelace --action quota.top-up --since 2026-01-01'));
    expect((mine.data as { entries: AuditRecord[] }).entries).toHaveLength(1);
    const deploys = ok(await as(ids.admin, 'audit --action command.lab.deploy'));
    expect((deploys.data as { entries: AuditRecord[] }).entries.length).toBeGreaterThan(0);
    expect(refused(await as(ids.admin, 'audit --since yesterday'))).toContain('since looks like 7d, 24h, 90m');
    expect(refused(await as(ids.admin, 'audit --since 2026-02-30'))).toContain('not a date on the calendar');
    const tooFar = refused(await as(ids.admin, 'audit --since 99999d'));
    expect(tooFar).toContain('a duration goes back at most 3650d (ten years; 87600h, 5256000m)');
    expect(tooFar).not.toContain('calendar');
    ok(await as(ids.admin, 'audit --since 3650d'));
    ok(await as(ids.admin, 'audit --since 87600h'));
    expect(refused(await as(ids.admin, 'audit --since 87601h'))).toContain('at most 3650d');
    expect(refused(await as(ids.admin, 'audit --since 1d --hours 5'))).toBe('Give --since or --hours, not both.');
  });
});

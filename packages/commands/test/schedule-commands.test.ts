import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { formatLocalTime } from '@lab/proxmox-sdk';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);
let router: CommandRouter;
let services: LabServices;
beforeAll(() => {
  ({ router, services } = current());
});

const as = (userId: string, text: string) => router.invoke({ platform: 'slack', userId, command: 'lab', text });

describe('/lab schedule', () => {
  it('adds a weekly schedule with its time zone, warm-up and skipped dates, lists it with the next session and removes it', async () => {
    const added = await as(
      ids.teacher,
      'schedule cs101 add "mon,wed 09:00-10:30" --tz Europe/Berlin --start-before 15m --skip 2026-12-24',
    );
    expect(added.error, added.text).toBeFalsy();
    expect(added.text).toContain('mon,wed 09:00-10:30 Europe/Berlin (VMs start 15 min early; skips 2026-12-24)');
    const [stored] = await services.store.schedules.list('cs101');
    expect(stored).toMatchObject({
      days: 'mon,wed',
      startTime: '09:00',
      endTime: '10:30',
      timezone: 'Europe/Berlin',
      startBeforeMin: 15,
      skipDates: ['2026-12-24'],
      createdBy: 'lovelace',
    });
    const listed = await as(ids.teacher, 'schedule cs101 list');
    expect(listed.text).toContain(`${stored!.id}. mon,wed 09:00-10:30`);
    expect(listed.text).toContain('Next session:');
    const removed = await as(ids.teacher, `schedule cs101 remove ${stored!.id}`);
    expect(removed.error, removed.text).toBeFalsy();
    expect(await services.store.schedules.list('cs101')).toEqual([]);
  });

  it('refuses a schedule, time zone or date it cannot read with one sentence, and other teachers and students', async () => {
    for (const [text, fragment] of [
      ['schedule cs101 add "monday 9-10"', 'write it as days and times'],
      ['schedule cs101 add "mon 09:00-10:30" --tz Mars/Olympus', 'not a time zone name'],
      ['schedule cs101 add "mon 09:00-10:30" --skip 24.12.2026', 'a date is written YYYY-MM-DD'],
    ] as const) {
      const reply = await as(ids.teacher, text);
      expect(reply.error, text).toBe(true);
      expect(reply.text).toContain(fragment);
    }
    expect((await as(ids.teacher2, 'schedule cs101 add "mon 09:00-10:30"')).error).toBe(true);
    expect((await as(ids.alice, 'schedule cs101 list')).error).toBe(true);
    expect(await services.store.schedules.list('cs101')).toEqual([]);
  });
});

describe('/lab schedule: schedules that can never run', () => {
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

  it('takes skipped dates from Discord as one comma-separated string', async () => {
    const added = await router.invoke({
      platform: 'discord',
      userId: 'uteach1-discord',
      command: 'lab',
      subcommand: 'schedule',
      options: { class: 'cs101', action: 'add', spec: 'tue 09:00-10:00', skip: `${inDays(20)}, ${inDays(27)}` },
    });
    expect(added.error, added.text).toBeFalsy();
    const [stored] = await services.store.schedules.list('cs101');
    expect(stored!.skipDates).toEqual([inDays(20), inDays(27)]);
    await services.store.schedules.remove('cs101', stored!.id);
  });

  it('refuses a day not on the calendar, a past or skipped one-off date, a day named twice and a backwards range', async () => {
    const soon = inDays(30);
    for (const [text, fragment] of [
      ['schedule cs101 add "2026-02-30 13:00-16:00"', '2026-02-30 is not a day of the calendar'],
      ['schedule cs101 add "mon 09:00-10:00" --skip 2026-02-30', '2026-02-30 is not a day of the calendar'],
      ['schedule cs101 add "2020-01-01 13:00-16:00"', 'no session in the coming year'],
      [`schedule cs101 add "${soon} 13:00-16:00" --skip ${soon}`, 'no session in the coming year'],
      ['schedule cs101 add "mon,mon 09:00-10:00"', 'mon is named twice'],
      ['schedule cs101 add "mon-wed,tue 09:00-10:00"', 'tue is named twice'],
      ['schedule cs101 add "fri-mon 09:00-10:00"', 'from the earlier day'],
    ] as const) {
      const reply = await as(ids.teacher, text);
      expect(reply.error, text).toBe(true);
      expect(reply.text, text).toContain(fragment);
    }
    expect(await services.store.schedules.list('cs101')).toEqual([]);
  });

  it('adds a schedule overlapping another one but says which, and does not warn about one that does not overlap', async () => {
    const first = await as(ids.teacher, 'schedule cs101 add "mon,wed 09:00-10:30"');
    expect(first.error, first.text).toBeFalsy();
    const { id } = (await services.store.schedules.list('cs101'))[0]!;
    const overlapping = await as(ids.teacher, 'schedule cs101 add "wed 10:00-11:00"');
    expect(overlapping.error, overlapping.text).toBeFalsy();
    expect(overlapping.text).toContain(`Its sessions overlap schedule ${id}; remove one`);
    const apart = await as(ids.teacher, 'schedule cs101 add "thu 10:00-11:00"');
    expect(apart.error, apart.text).toBeFalsy();
    expect(apart.text).not.toContain('overlap');
    for (const s of await services.store.schedules.list('cs101')) await services.store.schedules.remove('cs101', s.id);
  });
});

describe('a class that does not exist', () => {
  it('is named as missing by schedule, usage, status, versions and limits, for an admin and a teacher alike', async () => {
    for (const text of ['schedule nosuch list', 'usage nosuch', 'status nosuch', 'versions nosuch', 'limits nosuch']) {
      const admin = await as(ids.admin, text);
      expect(admin.error, text).toBe(true);
      expect(admin.text, text).toContain("no class 'nosuch'; classes: cs101, cs202");
      const teacher = await as(ids.teacher, text);
      expect(teacher.error, text).toBe(true);
      expect(teacher.text, text).toContain("no class 'nosuch'; classes: cs101");
    }
    expect((await as(ids.teacher, 'usage cs202')).text).toContain('you teach cs101');
  });
});

describe('/lab limits, /lab usage and /myvm usage', () => {
  it('sets a class’s quota and limits, shows each student’s hours from the ledger, and turns a limit off with 0', async () => {
    const set = await as(ids.teacher, 'limits cs101 --quota-hours 2 --max-running 1 --idle-cpu 5 --idle-minutes 30');
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toBe(
      'cs101: quota 2 h outside sessions, max running 1, max running in class none, idle below 5% CPU for 30 min, open console keeps a VM on, never connected off, warning 10 min before a stop (default), keeps 1 per session, idle stop in sessions off, snapshots 3 per VM.',
    );
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    const now = services.clock.now();
    await services.store.usage.openInterval('lab', 100, now - 30 * 60_000);
    await services.store.usage.closeInterval('lab', 100, now);
    const usage = await as(ids.teacher, 'usage cs101');
    expect(usage.text).toContain('alice: 30 min used, 1.5 h left');
    expect(usage.text).toContain('bob: 0 min used, 2 h left');
    expect(usage.ephemeral, "students' hours are shown to the teacher who asks only").toBe(true);
    const deferred = await router.prepare({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'usage cs101',
    });
    expect(deferred.ephemeral, 'known before it runs, so Discord defers it as an ephemeral answer').toBe(true);
    const mine = await router.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'usage' });
    expect(mine.text).toBe('cs101: 30 min used outside sessions, 1.5 h left.');
    expect((await as(ids.teacher, 'limits cs101 --max-running 0')).text).toContain('max running none');
    expect((await as(ids.alice, 'usage cs101')).error).toBe(true);
    await services.store.classes.unassignVm('lab', 100);
  });

  it('refuses a limit that is not a plain number, or a fraction where a whole number is needed, and changes nothing', async () => {
    const before = await services.store.usage.policy('cs101');
    for (const [text, fragment] of [
      ['limits cs101 --max-running 1.5', 'max-running: must be a whole number'],
      ['limits cs101 --idle-minutes 0.5', 'idle-minutes: must be a whole number'],
      ['limits cs101 --quota-hours ""', 'quota-hours: must be a number'],
      ['limits cs101 --quota-hours 0x10', 'quota-hours: must be a number'],
      ['limits cs101 --quota-hours abc', 'quota-hours: must be a number, e.g. 10 or 0.5'],
      ['limits cs101 --keeps-per-session -1', 'keeps-per-session: must be at least 0'],
    ] as const) {
      const reply = await as(ids.teacher, text);
      expect(reply.error, text).toBe(true);
      expect(reply.text, text).toContain(fragment);
      expect(reply.text, text).not.toMatch(/Invalid input|NaN/);
    }
    expect(await services.store.usage.policy('cs101')).toEqual(before);
    const half = await as(ids.teacher, 'limits cs101 --quota-hours 0.5 --idle-cpu 2.5');
    expect(half.text).toContain('quota 0.5 h outside sessions');
    expect(half.text).toContain('below 2.5% CPU');
    await as(
      ids.teacher,
      `limits cs101 --quota-hours ${before?.quotaHours ?? 0} --idle-cpu ${before?.idleCpuBelowPercent ?? 0}`,
    );
  });
});

describe('/myvm usage during a session', () => {
  it('says the session runs until its end, in the class’s local time, instead of naming the next one', async () => {
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    // A zone where it is about noon now, and a session there today from 06:00 to 18:00.
    const now = services.clock.now();
    const k = 12 - new Date(now).getUTCHours();
    const tz = k === 0 ? 'UTC' : k > 0 ? `Etc/GMT-${k}` : `Etc/GMT+${-k}`;
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(now);
    const added = await as(ids.teacher, `schedule cs101 add "${today} 06:00-18:00" --tz ${tz}`);
    expect(added.error, added.text).toBeFalsy();
    const mine = await router.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'usage' });
    expect(mine.text).toMatch(/^cs101: .*; in session until \w{3} \d{1,2} \w{3} \d{4} 18:00 (UTC|GMT[+-]\d+)\.$/);
    for (const x of await services.store.schedules.list('cs101')) await services.store.schedules.remove('cs101', x.id);
    await services.store.classes.unassignVm('lab', 100);
  });
});

describe('/myvm start over quota', () => {
  it('refuses a student with no hours left outside sessions, naming the next session, and starts nothing', async () => {
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 102, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    await services.sync!.fullSync();
    expect((await services.store.inventory.get('lab', 102))?.status).toBe('stopped');
    const now = services.clock.now();
    await services.store.usage.openInterval('lab', 102, now - 3 * 3_600_000);
    await services.store.usage.closeInterval('lab', 102, now - 3_600_000);
    await as(ids.teacher, 'limits cs101 --quota-hours 1');
    const day = new Date(now + 3 * 86_400_000).toISOString().slice(0, 10);
    await as(ids.teacher, `schedule cs101 add "${day} 09:00-10:00" --tz UTC`);
    const refused = await router.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'start 102' });
    expect(refused.error).toBe(true);
    const [y, m, d] = day.split('-');
    const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(m) - 1];
    expect(refused.text).toMatch(
      new RegExp(
        `alice has used all 1 h that cs101 allows outside its sessions, so the VM cannot start now; the next session starts at \\w{3} ${Number(d)} ${month} ${y} 09:00 UTC`,
      ),
    );
    expect(current().sim.state.guests.get(102)?.status).toBe('stopped');
    for (const s of await services.store.schedules.list('cs101')) await services.store.schedules.remove('cs101', s.id);
    await as(ids.teacher, 'limits cs101 --quota-hours 0');
    await services.store.classes.unassignVm('lab', 102);
  });
});

describe('/myvm keep', () => {
  it('keeps the caller’s VM past an idle warning once, then refuses with one sentence', async () => {
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    await services.sync!.fullSync();
    const now = services.clock.now();
    await services.store.usage.saveIdle({
      clusterId: 'lab',
      vmid: 100,
      idleSince: now - 40 * 60_000,
      warnedAt: now - 60_000,
      keptAt: null,
      keepsUsed: 0,
    });
    const keep = (text: string) => router.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text });
    const first = await keep('keep 100');
    expect(first.error, first.text).toBeFalsy();
    expect(first.text).toContain('its idle stop is cancelled');
    expect(await services.store.usage.idle('lab', 100)).toMatchObject({ warnedAt: null, keptAt: expect.any(Number) });
    const unwarned = await keep('keep 100');
    expect(unwarned.error).toBe(true);
    expect(unwarned.text).toBe(
      'dns has no idle warning pending, so there is nothing to keep; use /myvm keep after an idle warning',
    );
    expect(await services.store.usage.idle('lab', 100)).toMatchObject({ keepsUsed: 1 });
    const record = (await services.store.usage.idle('lab', 100))!;
    await services.store.usage.saveIdle({ ...record, warnedAt: services.clock.now() });
    const second = await keep('keep 100');
    expect(second.error).toBe(true);
    expect(second.text).toContain('cs101 allows one keep per session; save your work before it stops');
    await services.store.classes.unassignVm('lab', 100);
  });
});

describe('/lab limits --keeps-per-session and --idle-warn-minutes', () => {
  it('sets the keeps per session and the warning delay, shows them, enforces the keeps on /myvm keep and puts the delay back with 0', async () => {
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    await services.sync!.fullSync();
    /** An idle warning of VM 100 pending now, as the scheduler records it, then `/myvm keep`. */
    const keep = async () => {
      const record = await services.store.usage.idle('lab', 100);
      const now = services.clock.now();
      await services.store.usage.saveIdle({
        clusterId: 'lab',
        vmid: 100,
        idleSince: now - 40 * 60_000,
        warnedAt: now,
        keptAt: record?.keptAt ?? null,
        keepsUsed: record?.keepsUsed ?? 0,
      });
      return router.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'keep 100' });
    };
    const set = await as(ids.teacher, 'limits cs101 --keeps-per-session 2 --idle-warn-minutes 5');
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toMatch(
      /, warning 5 min before a stop, keeps 2 per session, idle stop in sessions off, snapshots 3 per VM\.$/,
    );
    expect(await services.store.usage.policy('cs101')).toMatchObject({ keepsPerSession: 2, idleWarnMinutes: 5 });
    expect((await as(ids.teacher, 'limits cs101')).text).toMatch(
      /, warning 5 min before a stop, keeps 2 per session, idle stop in sessions off, snapshots 3 per VM\.$/,
    );
    const inSessions = await as(ids.teacher, 'limits cs101 --idle-in-sessions on');
    expect(inSessions.text).toMatch(/, keeps 2 per session, idle stop in sessions on, snapshots 3 per VM\.$/);
    expect(await services.store.usage.policy('cs101')).toMatchObject({ idleInSessions: true, keepsPerSession: 2 });
    expect((await as(ids.teacher, 'limits cs101 --idle-in-sessions off')).text).toMatch(
      /idle stop in sessions off, snapshots 3 per VM\.$/,
    );
    expect((await services.store.usage.policy('cs101'))?.idleInSessions).toBeUndefined();
    await services.store.usage.clearIdle('lab', 100);
    expect((await keep()).text).toContain('You can keep it once more this session.');
    expect((await keep()).text).toContain('You can keep it no more times this session.');
    const third = await keep();
    expect(third.error).toBe(true);
    expect(third.text).toContain('cs101 allows 2 keeps per session; save your work before it stops');
    const none = await as(ids.teacher, 'limits cs101 --keeps-per-session 0 --idle-warn-minutes 0');
    expect(none.text).toMatch(
      /, warning 10 min before a stop \(default\), keeps off, idle stop in sessions off, snapshots 3 per VM\.$/,
    );
    expect(await services.store.usage.policy('cs101')).toMatchObject({ keepsPerSession: 0, idleWarnMinutes: null });
    await services.store.usage.clearIdle('lab', 100);
    const refused = await keep();
    expect(refused.error).toBe(true);
    expect(refused.text).toContain('cs101 does not let');
    expect((await as(ids.teacher, 'limits cs101 --keeps-per-session -1')).error).toBe(true);
    expect((await as(ids.teacher2, 'limits cs101 --keeps-per-session 3')).error).toBe(true);
    expect(await services.store.usage.policy('cs101')).toMatchObject({ keepsPerSession: 0 });
    await as(ids.teacher, 'limits cs101 --keeps-per-session 1');
    await services.store.usage.clearIdle('lab', 100);
    await services.store.classes.unassignVm('lab', 100);
  });
});

describe('/lab status with time controls', () => {
  it('shows per VM the hours outside sessions and idle since, and the next scheduled action, from the store', async () => {
    const alice = (await services.store.classes.getPersonByUsername('alice'))!;
    await services.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    await services.sync!.fullSync();
    const vm = (await services.store.inventory.get('lab', 100))!;
    await services.store.inventory.update('lab', 100, { name: 'cs101-alice' });
    const now = services.clock.now();
    await services.store.usage.saveIdle({
      clusterId: 'lab',
      vmid: 100,
      idleSince: now - 60_000,
      warnedAt: null,
      keptAt: null,
      keepsUsed: 0,
    });
    await as(ids.teacher, 'schedule cs101 add "mon-sun 00:00-00:01" --start-before 0m');
    const status = await as(ids.teacher, 'status cs101');
    // Times in the class's zone (its schedule's); hours from the ledger: the hour recorded here plus
    // what the earlier tests of this lab ran.
    const [schedule] = await services.store.schedules.list('cs101');
    expect(status.text).toContain(
      `cs101-alice (100) on ${vm.node}: running — alice (idle since ${formatLocalTime(now - 60_000, schedule!.timezone)}, `,
    );
    expect(status.text).toMatch(/, (\d+ min|[\d.]+ h) outside sessions\)/);
    expect(status.text).toMatch(/Next: VMs (start at|stop at) \w{3} \d{1,2} \w{3} \d{4} \d{2}:\d{2} /);
    for (const s of await services.store.schedules.list('cs101')) await services.store.schedules.remove('cs101', s.id);
    await services.store.usage.clearIdle('lab', 100);
    await services.store.inventory.update('lab', 100, { name: vm.name });
    await services.store.classes.unassignVm('lab', 100);
  });
});

describe('/lab schedule across daylight-saving changes', () => {
  it('refuses a one-off session in the hour the clocks skip, and notes how weekly ones move', async () => {
    const gap = await as(ids.teacher, 'schedule cs101 add "2027-03-28 02:30-03:00" --tz Europe/Berlin');
    expect(gap.error).toBe(true);
    expect(gap.text).toContain(
      '02:30 does not exist on 2027-03-28 in Europe/Berlin: the clocks jump from 02:00 to 03:00',
    );
    expect(await services.store.schedules.list('cs101')).toEqual([]);
    const weekly = await as(ids.teacher, 'schedule cs101 add "sun 02:30-04:00" --tz Europe/Berlin');
    expect(weekly.error, weekly.text).toBeFalsy();
    expect(weekly.text).toContain(
      '\nDaylight saving: on 2027-03-28 02:30 does not exist in Europe/Berlin (the clocks jump from 02:00 to 03:00); that day the session starts at Sun 28 Mar 2027 03:30 CEST',
    );
    for (const s of await services.store.schedules.list('cs101'))
      await as(ids.teacher, `schedule cs101 remove ${s.id}`);
  });
});

describe('/lab schedule and the lab-wide time zone', () => {
  it('adds a schedule without --tz in the lab’s timezone setting, and says when a class’s schedules mix zones', async () => {
    services.timezone = 'America/New_York';
    try {
      const added = await as(ids.teacher, 'schedule cs101 add "tue 09:00-10:00"');
      expect(added.error, added.text).toBeFalsy();
      expect(added.text).toContain('tue 09:00-10:00 America/New_York');
      expect(added.text).toContain('Next session:');
      const berlin = await as(ids.teacher, 'schedule cs101 add "thu 09:00-10:00" --tz Europe/Berlin');
      expect(berlin.error, berlin.text).toBeFalsy();
      const listed = await as(ids.teacher, 'schedule cs101 list');
      expect(listed.text).toContain(
        "These schedules are in different time zones (America/New_York, Europe/Berlin): each line's times are in its own zone. Times below are in America/New_York.",
      );
    } finally {
      services.timezone = undefined;
      for (const s of await services.store.schedules.list('cs101'))
        await services.store.schedules.remove('cs101', s.id);
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassScheduler, type Clock, type NotifiedPerson } from '@lab/proxmox-sdk';
import { openStore, type KyselyStore } from '@lab/proxmox-store';
import * as commands from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'lab-eot-'));
let offset = 0;
const clock: Clock = {
  now: () => Date.now() + offset,
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
    }),
};
let store: KyselyStore;
let current: Awaited<ReturnType<typeof lab>>;
const told: Array<{ to: string; text: string }> = [];
const notifier = {
  notifyPerson: async (who: NotifiedPerson, text: string) => (told.push({ to: who.username, text }), true),
};

beforeAll(async () => {
  store = await openStore(`sqlite:${join(dir, 'eot.db')}`);
  // The lab has `sdn` settings and cs101 a private network per student: the destroy removes them too.
  current = await lab(commands, { store, clock, sdn: { prefix: 'lab' } });
  current.services.scheduler!.useNotifier(notifier);
  const set = await as(ids.teacher, 'class', 'set-lab cs101 desk=ubuntu --network student');
  expect(set.error, set.text).toBeFalsy();
  const deployed = await as(ids.teacher, 'lab', 'deploy cs101 2', true);
  expect(deployed.error, deployed.text).toBeFalsy();
  // One per seated student and one for the teacher VMs.
  expect((await store.sdn.list('lab', { classId: 'cs101' })).filter((r) => r.kind === 'vnet')).toHaveLength(3);
  expect(await store.templates.getByName('cs101-desk-base')).toBeDefined();
}, 60_000);
afterAll(async () => {
  await current.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  current.router.invoke({ platform: 'slack', userId, command, text, confirmed });
const scheduler = () => current.services.scheduler!;
/** The UTC date `days` from the test clock's now. */
const dayFromNow = (days: number) => new Date(clock.now() + days * DAY).toISOString().slice(0, 10);
let endsOn = '';
/** Midnight after the class's last day (UTC: the lab has no time zone set). */
const endAt = () => Date.parse(`${endsOn}T00:00:00Z`) + DAY;

describe('the end of term', () => {
  it('takes an end date in the class time zone, refusing a day it cannot use with what to fix, and others than its teachers', async () => {
    for (const [date, fragment] of [
      ['30.06.2027', 'write the date as YYYY-MM-DD'],
      ['2027-02-30', 'there is no such day'],
      [dayFromNow(-2), 'it is in the past (today is'],
    ] as const) {
      const reply = await as(ids.teacher, 'class', `set-end cs101 ${date}`);
      expect(reply.error, date).toBe(true);
      expect(reply.text).toContain(fragment);
    }
    expect((await as(ids.teacher2, 'class', `set-end cs101 ${dayFromNow(20)}`)).error).toBe(true);
    expect((await as(ids.alice, 'class', `set-end cs101 ${dayFromNow(20)}`)).error).toBe(true);
    expect(await store.classTerms.get('cs101')).toBeUndefined();

    endsOn = dayFromNow(20);
    const set = await as(ids.teacher, 'class', `set-end cs101 ${endsOn}`);
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toContain(`ends on ${endsOn}`);
    expect(await store.classTerms.get('cs101')).toMatchObject({ endsOn, timezone: 'UTC', graceDays: 14 });
    expect((await as(ids.teacher, 'class', 'show cs101')).text).toContain(`term: ends on ${endsOn}`);

    const cleared = await as(ids.teacher, 'class', 'set-end cs101 none');
    expect(cleared.text).toContain('no end date any more');
    expect((await store.classTerms.get('cs101'))?.endsOn).toBeNull();
    expect((await as(ids.teacher, 'class', `set-end cs101 ${endsOn} --grace-days 10`)).error).toBeFalsy();
    expect((await store.classTerms.get('cs101'))?.graceDays).toBe(10);
    // A class that sets no grace period gets the lab's (endOfTerm.graceDays).
    current.services.termGraceDays = 7;
    expect((await as(ids.teacher2, 'class', `set-end cs202 ${endsOn}`)).error).toBeFalsy();
    delete current.services.termGraceDays;
    expect((await store.classTerms.get('cs202'))?.graceDays).toBe(7);
    expect((await as(ids.teacher2, 'class', 'set-end cs202 clear')).error).toBeFalsy();
    const audit = await store.audit.list({ action: 'class.set-end', targets: ['cs101'] });
    expect(audit.map((a) => a.details.endsOn)).toEqual([endsOn, null, endsOn]);
  });

  it('reminds its teachers 14, 3 and 1 days before, each once, even with two schedulers', async () => {
    const other = new ClassScheduler({
      store,
      clusters: current.services.clusters,
      clock,
      notifier,
      holderId: 'other',
    });
    const reminders = () => told.filter((t) => t.text.startsWith(`cs101 ends on ${endsOn}`));
    offset = endAt() - 15 * DAY - Date.now();
    await scheduler().runEndOfTerm();
    expect(reminders()).toHaveLength(0);
    for (const [before, count, inDays] of [
      [14, 1, 14],
      [3, 2, 3],
      [1, 3, 1],
    ] as const) {
      offset = endAt() - before * DAY + 3_600_000 - Date.now();
      const [a, b] = await Promise.all([scheduler().runEndOfTerm(), other.runEndOfTerm()]);
      expect([...a, ...b].filter((x) => x.action === 'term-reminder')).toHaveLength(1);
      await scheduler().runEndOfTerm();
      expect(reminders()).toHaveLength(count);
      expect(reminders().at(-1)).toMatchObject({ to: 'lovelace' });
      expect(reminders().at(-1)!.text).toContain(`in ${inDays} day(s)`);
    }
  });

  it('stops the student VMs at the end, audited as the end of term, and refuses students new starts', async () => {
    offset = endAt() - 2 * 3_600_000 - Date.now();
    const started = await as(ids.alice, 'myvm', 'start');
    expect(started.error, started.text).toBeFalsy();
    const [vm] = (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
    offset = endAt() + 60_000 - Date.now();
    await scheduler().runOnce();
    const stops = (await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' })).filter(
      (a) => a.outcome === 'ok' && a.details.reason === 'end of term',
    );
    expect(stops).toHaveLength(1);
    expect((await store.inventory.get('lab', stops[0]!.target.split('/').map(Number)[1]!))?.status).toBe('stopped');
    expect(vm).toBeDefined();

    const refused = await as(ids.alice, 'myvm', 'start');
    expect(refused.error).toBe(true);
    expect(refused.text).toContain(`cs101 ended on ${endsOn}`);
    expect(refused.text).toContain('ask your teacher');
    const deploy = await as(ids.teacher, 'lab', 'deploy cs101 1', true);
    expect(deploy.error).toBe(true);
    expect(deploy.text).toContain(`cs101 ended on ${endsOn}, so no VMs are deployed for it any more`);
    // A second round stops nothing again (the end is done once).
    await scheduler().runOnce();
    expect(
      (await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' })).filter(
        (a) => a.details.reason === 'end of term',
      ),
    ).toHaveLength(1);
  }, 30_000);

  it('refuses destroying or archiving before the grace period is over, saying when and what to run', async () => {
    const early = await as(ids.teacher, 'class', 'destroy-vms cs101', true);
    expect(early.error).toBe(true);
    expect(early.text).toContain('cannot be destroyed yet');
    expect(early.text).toContain('10 day(s) after the class ended on');
    const archive = await as(ids.teacher, 'class', 'archive cs101');
    expect(archive.error).toBe(true);
    expect(archive.text).toContain('cs101 still has');
    expect(archive.text).toContain('class destroy-vms cs101 from');
    expect((await store.classTerms.get('cs101'))?.destroyConfirmedBy).toBeNull();
  });

  it('reminds weekly after the grace period, destroys only once confirmed, then archives', async () => {
    const graceOver = endAt() + 10 * DAY;
    const destroyReminders = () => told.filter((t) => t.text.includes('grace period is over'));
    offset = graceOver + 60_000 - Date.now();
    await scheduler().runOnce();
    await scheduler().runOnce();
    expect(destroyReminders()).toHaveLength(1);
    expect(destroyReminders()[0]!.text).toContain('class destroy-vms cs101');
    offset = graceOver + 7 * DAY + 60_000 - Date.now();
    await scheduler().runOnce();
    expect(destroyReminders()).toHaveLength(2);
    const vmids = (await store.classes.assignmentsOfClass('cs101')).map((a) => a.vmid);
    expect(vmids.length).toBeGreaterThanOrEqual(2);
    for (const vmid of vmids) expect(current.sim.state.guests.has(vmid)).toBe(true);

    expect((await as(ids.alice, 'class', 'destroy-vms cs101')).error).toBe(true);
    const ask = await as(ids.teacher, 'class', 'destroy-vms cs101');
    expect(ask.confirm).toBeDefined();
    expect(ask.text).toContain(`These ${vmids.length} VM(s) of cs101 will be destroyed`);
    expect(ask.text).toContain('cs101-alice');
    expect((await store.classTerms.get('cs101'))?.destroyConfirmedBy).toBeNull();
    await scheduler().runOnce();
    for (const vmid of vmids) expect(current.sim.state.guests.has(vmid)).toBe(true);

    const done = await as(ids.teacher, 'class', 'destroy-vms cs101', true);
    expect(done.error, done.text).toBeFalsy();
    expect((await store.classTerms.get('cs101'))?.destroyConfirmedBy).toBe('lovelace');
    for (let i = 0; i < 5 && (await store.classes.assignmentsOfClass('cs101')).length; i++) await scheduler().runOnce();
    for (const vmid of vmids) expect(current.sim.state.guests.has(vmid), `VM ${vmid}`).toBe(false);
    const destroyed = await store.audit.list({ actor: 'scheduler', action: 'vm.destroy' });
    expect(
      destroyed
        .filter((a) => a.outcome === 'ok')
        .map((a) => a.target)
        .sort(),
    ).toEqual(vmids.map((v) => `lab/${v}`).sort());
    expect(destroyed.filter((a) => a.outcome === 'sent')).toHaveLength(vmids.length);
    expect(told.some((t) => t.text.startsWith('The VMs of cs101 are destroyed'))).toBe(true);
    // Its networks went after its VMs: none recorded, none in PVE.
    expect(await store.sdn.list('lab')).toEqual([]);
    expect(Object.keys((current.sim.state.sdn.snapshot().pending as { vnets: object }).vnets)).toEqual([]);
    // Its base template left the catalog with it: PVE hands the VMID out again.
    expect(await store.templates.getByName('cs101-desk-base')).toBeUndefined();
    expect(await store.classLifecycle.baseVersions('cs101')).toEqual([]);

    const archived = await as(ids.teacher, 'class', 'archive cs101');
    expect(archived.error, archived.text).toBeFalsy();
    expect((await as(ids.admin, 'class', 'list')).text).not.toContain('cs101');
    expect((await as(ids.admin, 'class', 'list --archived')).text).toContain('cs101');
    const roster = await as(ids.teacher, 'class', 'export cs101');
    expect(roster.text).toContain('alice');
    const usage = await as(ids.teacher, 'lab', 'usage cs101 --csv');
    expect(usage.error, usage.text).toBeFalsy();
    expect(usage.text).toContain('alice');
    expect((await store.audit.list({ action: 'class.archive', targets: ['cs101'] })).length).toBe(1);
    const deploy = await as(ids.teacher, 'lab', 'deploy cs101 1', true);
    expect(deploy.error).toBe(true);
    expect(deploy.text).toContain('cs101 is archived: its term is over and its VMs are gone.');
  }, 60_000);
});

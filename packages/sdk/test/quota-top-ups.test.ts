import { describe, expect, it } from 'vitest';
import { NoQuotaToTopUpError, TopUpAmountError } from '../src/errors/index.js';
import { costOf, parseTopUpHours, studentUsage, topUpQuota, type Clock, type Store } from '../src/index.js';
import { noticeQuotaShare } from '../src/schedule/quota-notice.js';
import { pruneAuditLog } from '../src/audit/audit-retention.js';
import { createMemoryStore } from '../src/testing/index.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const HOUR = 3_600_000;

async function classWithAlice(quotaHours: number | null) {
  const store: Store = createMemoryStore();
  const ada = await store.classes.createPerson({ username: 'ada', displayName: 'Ada', role: 'teacher' }, T0);
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: ada.id }, T0);
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, T0);
  await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
  await store.classes.assignVm(
    { clusterId: 'lab', vmid: 300, personId: alice.id, classId: 'cs101', role: 'student' },
    T0,
  );
  await store.usage.savePolicy({
    classId: 'cs101',
    quotaHours,
    maxRunning: null,
    maxRunningInClass: null,
    idleCpuBelowPercent: null,
    idleForMinutes: null,
    keepsPerSession: 1,
    idleWarnMinutes: null,
  });
  return { store, ada, alice };
}

describe('quota top-ups', () => {
  it('read +5h, 1.5h, +30m and 90min, and refuse negative, zero, unreadable and huge amounts saying what to write', () => {
    expect([
      parseTopUpHours('+5h'),
      parseTopUpHours('1.5h'),
      parseTopUpHours('+30m'),
      parseTopUpHours('90min'),
    ]).toEqual([5, 1.5, 0.5, 1.5]);
    expect(parseTopUpHours('2')).toBe(2);
    for (const bad of ['-5h', '0h', 'five hours', '+5d', '2000h', '']) {
      const error = (() => {
        try {
          parseTopUpHours(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(TopUpAmountError);
      expect((error as TopUpAmountError).code).toBe('LAB_TOP_UP_AMOUNT');
    }
    expect(() => parseTopUpHours('-5h')).toThrow(/only adds them/);
  });

  it('add to the student’s quota once per key, audited once, and are refused in a class without a quota', async () => {
    const { store, alice } = await classWithAlice(2);
    const input = {
      classId: 'cs101',
      person: { id: alice.id, username: 'alice' },
      hours: 5,
      idempotencyKey: 'k1',
      actor: 'ada',
      at: T0,
    };
    const results = await Promise.all([topUpQuota(store, input), topUpQuota(store, input), topUpQuota(store, input)]);
    expect(results.map((r) => r.applied).sort()).toEqual([false, false, true]);
    const usage = await studentUsage(store, 'cs101', alice.id, T0);
    expect(usage).toMatchObject({ quotaMs: 7 * HOUR, leftMs: 7 * HOUR, topUpHours: 5 });
    const audits = await store.audit.list({ action: 'quota.top-up' });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      actor: 'ada',
      target: 'class cs101',
      details: { student: 'alice', hours: 5, idempotencyKey: 'k1' },
    });
    const none = await classWithAlice(null);
    await expect(
      topUpQuota(none.store, { ...input, person: { id: none.alice.id, username: 'alice' } }),
    ).rejects.toBeInstanceOf(NoQuotaToTopUpError);
    expect(await none.store.audit.list()).toEqual([]);
  });
});

describe('the 80 % notice to teachers', () => {
  it('tells the class’s teachers once per allowance, and again after a top-up lifts it', async () => {
    const { store, alice } = await classWithAlice(1);
    const sent: Array<[string, string]> = [];
    const notifier = {
      notifyPerson: async (p: { username: string }, text: string) => (sent.push([p.username, text]), true),
    };
    await store.usage.openInterval('lab', 300, T0);
    const check = async (minutes: number) =>
      noticeQuotaShare(
        { store, notifier },
        await studentUsage(store, 'cs101', alice.id, T0 + minutes * 60_000),
        T0 + minutes * 60_000,
      );
    expect(await check(47)).toBe('not-due');
    expect(await check(49)).toBe('told');
    expect(await check(50)).toBe('not-due');
    expect(sent).toEqual([
      [
        'ada',
        'alice has used 81% of their hours in cs101 (49 min of 1 h outside sessions). Give more with /lab quota cs101 alice +5h if they need it.',
      ],
    ]);
    await topUpQuota(store, {
      classId: 'cs101',
      person: { id: alice.id, username: 'alice' },
      hours: 1,
      idempotencyKey: 'k',
      actor: 'ada',
      at: T0,
    });
    expect(await check(60)).toBe('not-due');
    expect(await check(97)).toBe('told');
    expect(sent).toHaveLength(2);
  });

  it('tries again next round when no teacher could be reached, without telling twice', async () => {
    const { store, alice } = await classWithAlice(1);
    await store.classes.linkIdentity({
      personId: (await store.classes.getPersonByUsername('ada'))!.id,
      platform: 'slack',
      externalId: 'U1',
    });
    let up = false;
    const sent: string[] = [];
    const notifier = { notifyPerson: async (_p: unknown, text: string) => up && (sent.push(text), true) };
    await store.usage.openInterval('lab', 300, T0);
    const usage = await studentUsage(store, 'cs101', alice.id, T0 + 55 * 60_000);
    expect(await noticeQuotaShare({ store, notifier }, usage, T0 + 55 * 60_000)).toBe('failed');
    up = true;
    expect(await noticeQuotaShare({ store, notifier }, usage, T0 + 56 * 60_000)).toBe('told');
    expect(await noticeQuotaShare({ store, notifier }, usage, T0 + 57 * 60_000)).toBe('not-due');
    expect(sent).toHaveLength(1);
  });
});

describe('the cost estimate', () => {
  it('prices each VM’s running hours at its size: vCPU hours and GiB hours', async () => {
    const { store, alice } = await classWithAlice(null);
    await store.inventory.upsertMany([
      {
        clusterId: 'lab',
        vmid: 300,
        name: 'cs101-alice',
        node: 'pve1',
        status: 'stopped',
        ip: null,
        type: 'qemu',
        category: 'linux',
        memory: 2048,
        cores: 2,
        diskSize: null,
        uptime: 0,
        cpuUsage: 0,
        memoryUsage: 0,
        isTemplate: false,
        tags: '',
        rdpAvailable: false,
        sshAvailable: false,
        lastUpdated: T0,
        lastStatusCheck: null,
        syncError: null,
        goneAt: null,
      } as never,
    ]);
    await store.usage.openInterval('lab', 300, T0);
    await store.usage.closeInterval('lab', 300, T0 + 10 * HOUR);
    const usage = await studentUsage(store, 'cs101', alice.id, T0 + 11 * HOUR);
    expect(usage.runMs).toBe(10 * HOUR);
    expect(usage.resources).toEqual({ vcpuHours: 20, gibHours: 20 });
    expect(costOf(usage.resources, { perVcpuHour: 0.02, perGiBHour: 0.005, currency: 'EUR' })).toBe(0.5);
  });
});

describe('audit retention', () => {
  it('prunes entries past the retention once a day, under one lease across processes, and audits the run', async () => {
    const store = createMemoryStore();
    let now = T0;
    const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
    const DAY = 86_400_000;
    for (const age of [500, 401, 399, 1])
      await store.audit.record({
        at: T0 - age * DAY,
        actor: 'x',
        action: 'vm.start',
        target: 'lab/1',
        outcome: 'ok',
        details: {},
      });
    const runs = await Promise.all(
      ['a', 'b'].map((holderId) => pruneAuditLog({ store, clock, holderId, retentionDays: 400 })),
    );
    expect(runs.filter((r) => 'pruned' in r)).toEqual([{ pruned: 2, before: T0 - 400 * DAY }]);
    expect(await store.sync.getLease('audit-retention')).toBeUndefined();
    const [run] = await store.audit.list({ action: 'audit.prune' });
    expect(run).toMatchObject({ actor: 'audit-retention', details: { pruned: 2, retentionDays: 400 } });
    now = T0 + DAY / 2;
    expect(await pruneAuditLog({ store, clock, holderId: 'a', retentionDays: 400 })).toEqual({ skipped: 'not-due' });
    now = T0 + 2 * DAY;
    expect(await pruneAuditLog({ store, clock, holderId: 'b', retentionDays: 400 })).toEqual({
      pruned: 1,
      before: now - 400 * DAY,
    });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import {
  ClassScheduler,
  checkNewSchedule,
  keepVmRunning,
  VmPower,
  studentUsage,
  LabError,
  SyncEngine,
  nextSession,
  parseMinutes,
  parseScheduleSpec,
  type ClassTimePolicyRecord,
  type Viewer,
  type Clock,
  type ClusterApis,
  type ProxmoxClient,
  type Store,
} from '../src/index.js';
import {
  ClassRunningLimitError,
  InvalidScheduleError,
  KeepAlreadyUsedError,
  KeepAfterQuotaError,
  KeepNotAllowedError,
  NothingToKeepError,
  QuotaExceededError,
  TooManyRunningError,
} from '../src/errors/index.js';
import { waitForTask } from '../src/pve/index.js';
import type { ClassScheduleRecord } from '../src/store/index.js';
import type { ClassSchedulerOptions, ScheduledAction } from '../src/schedule/class-scheduler.js';
import { sessionsBetween } from '../src/schedule/schedule-spec.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, countingStore, fastSim } from './helpers.js';

let sims: PveSim[] = [];
let apis: ProxmoxClient[] = [];
afterEach(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
  apis = [];
});

/** A clock the test moves; `sleep` yields briefly without moving it (task polling). */
function fakeClock(start: number): Clock & { set(at: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: (_ms, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        setTimeout(resolve, 5);
      }),
    set: (at) => {
      now = at;
    },
  };
}

const STUDENTS = [
  { vmid: 300, node: 'pve1', name: 'cs101-alice' },
  { vmid: 301, node: 'pve2', name: 'cs101-bob' },
  { vmid: 302, node: 'pve1', name: 'cs101-carol' },
];
const MONDAY = Date.parse('2026-11-30T00:00:00Z');
const at = (iso: string) => Date.parse(iso);

async function setup(pveVersion = '9.1.3'): Promise<{
  store: Store;
  clusters: ClusterApis;
  sim: PveSim;
  clock: ReturnType<typeof fakeClock>;
  sync: SyncEngine;
  schedule: ClassScheduleRecord;
}> {
  const scenario = structuredClone(presets.small!);
  scenario.guests = [
    ...scenario.guests!,
    ...STUDENTS.map((s) => ({
      ...s,
      status: 'stopped' as const,
      memory: 1024,
      cores: 1,
      disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } },
    })),
  ];
  const sim = await fastSim({ timeScale: 100, scenario, pveVersion });
  sims.push(sim);
  const api = clientFor(sim, { clusterId: 'lab1', retry: { maxAttempts: 1 }, timeoutMs: 5000 });
  apis.push(api);
  const clusters: ClusterApis = { get: () => api, ids: () => ['lab1'] };
  const clock = fakeClock(MONDAY);
  const store = createMemoryStore();
  const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } });
  await sync.quickSync();
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, MONDAY);
  for (const s of STUDENTS) {
    const person = await store.classes.createPerson(
      { username: s.name.replace('cs101-', ''), displayName: s.name, role: 'student' },
      MONDAY,
    );
    await store.classes.assignVm(
      { clusterId: 'lab1', vmid: s.vmid, personId: person.id, classId: 'cs101', role: 'student' },
      MONDAY,
    );
  }
  const schedule = await store.schedules.add({
    classId: 'cs101',
    ...parseScheduleSpec('mon,wed 09:00-10:30'),
    timezone: 'Europe/Berlin',
    startBeforeMin: parseMinutes('10m'),
    skipDates: [],
    createdBy: 'teacher',
    createdAt: MONDAY,
  });
  return { store, clusters, sim, clock, sync, schedule };
}

const statuses = async (store: Store) =>
  Promise.all(STUDENTS.map(async (s) => (await store.inventory.get('lab1', s.vmid))?.status));
/** cs101's time policy: no limits and one keep per session, but for `changes`. */
const policyOf = (changes: Partial<ClassTimePolicyRecord> = {}): ClassTimePolicyRecord => ({
  classId: 'cs101',
  quotaHours: null,
  maxRunning: null,
  maxRunningInClass: null,
  idleCpuBelowPercent: null,
  idleForMinutes: null,
  keepsPerSession: 1,
  idleWarnMinutes: null,
  ...changes,
});

type Deps = { store: Store; clusters: ClusterApis; clock: Clock };
const ROOT = { personId: null, username: 'root', role: 'admin' as const };

const studentOf = async (store: Store, username: string) => ({
  personId: (await store.classes.getPersonByUsername(username))!.id,
  username,
  role: 'student' as const,
});

/** A scheduler polling tasks every 20 ms that gives a shutdown 5 s. */
const schedulerOver = (deps: Deps, options: Partial<ClassSchedulerOptions> = {}) =>
  new ClassScheduler({ ...deps, pollIntervalMs: 20, shutdownTimeoutS: 5, ...options });

const startVm = (deps: Deps, viewer: Viewer, vmid: number) =>
  new VmPower({ ...deps, pollIntervalMs: 20 }).perform(viewer, 'lab1', vmid, 'start');

/** One scheduler round at `iso`, after a quick sync, each action seen through `view`. */
const ticker =
  <T>(
    { clock, sync, scheduler }: { clock: ReturnType<typeof fakeClock>; sync: SyncEngine; scheduler: ClassScheduler },
    view: (action: ScheduledAction) => T,
  ) =>
  async (iso: string) => {
    clock.set(at(iso));
    await sync.quickSync();
    return (await scheduler.runOnce()).map(view);
  };

/** Full syncs until `done` (at most 200, 25 ms apart), as a VM's SSH port comes up. */
const syncUntil = async (sync: SyncEngine, done: () => Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await done()); i++) {
    await sync.fullSync();
    await new Promise((r) => setTimeout(r, 25));
  }
};
const START = 'POST /nodes/{node}/qemu/{vmid}/status/start';
const SHUTDOWN = 'POST /nodes/{node}/qemu/{vmid}/status/shutdown';
const BULK_START = 'POST /cluster/bulk-action/guest/start';
const BULK_SHUTDOWN = 'POST /cluster/bulk-action/guest/shutdown';

describe('schedule parsing and sessions', () => {
  it('reads days, times and durations, and refuses what it cannot read with a typed error', () => {
    expect(parseScheduleSpec('mon,wed 09:00-10:30')).toEqual({ days: 'mon,wed', startTime: '09:00', endTime: '10:30' });
    expect(parseScheduleSpec('Mon-Fri 13:15-14:00').days).toBe('mon-fri');
    expect(parseMinutes('10m')).toBe(10);
    expect(parseMinutes('1h')).toBe(60);
    for (const bad of ['monday 09:00-10:30', 'mon 10:30-09:00', 'mon 25:00-26:00', 'mon,wed']) {
      const error = (() => {
        try {
          parseScheduleSpec(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidScheduleError);
      expect((error as LabError).code).toBe('LAB_INVALID_SCHEDULE');
    }
  });

  it('keeps the wall-clock time across a daylight-saving change and leaves skipped dates out', () => {
    const schedule: ClassScheduleRecord = {
      id: 1,
      classId: 'cs101',
      days: 'mon',
      startTime: '09:00',
      endTime: '10:30',
      timezone: 'Europe/Berlin',
      startBeforeMin: 10,
      skipDates: ['2026-04-06'],
      createdBy: 't',
      createdAt: 0,
    };
    const sessions = sessionsBetween(schedule, at('2026-03-22T00:00:00Z'), at('2026-04-14T00:00:00Z'));
    expect(sessions.map((s) => new Date(s.start).toISOString())).toEqual([
      '2026-03-23T08:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-04-13T07:00:00.000Z',
    ]);
    expect(sessions[0]).toMatchObject({ warmupAt: at('2026-03-23T07:50:00Z'), end: at('2026-03-23T09:30:00Z') });
    expect(nextSession([schedule], at('2026-04-01T00:00:00Z'))?.start).toBe(at('2026-04-13T07:00:00Z'));
  });

  it('reads a one-off session on a date, in the class time zone, and nothing after it', () => {
    expect(parseScheduleSpec('2026-12-18 13:00-16:00')).toEqual({
      days: '2026-12-18',
      startTime: '13:00',
      endTime: '16:00',
    });
    expect(() => parseScheduleSpec('2026-13-45 13:00-16:00')).toThrow(InvalidScheduleError);
    const once: ClassScheduleRecord = {
      id: 2,
      classId: 'cs101',
      days: '2026-12-18',
      startTime: '13:00',
      endTime: '16:00',
      timezone: 'Europe/Berlin',
      startBeforeMin: 10,
      skipDates: [],
      createdBy: 't',
      createdAt: 0,
    };
    const sessions = sessionsBetween(once, at('2026-12-01T00:00:00Z'), at('2027-01-31T00:00:00Z'));
    expect(sessions).toEqual([
      {
        classId: 'cs101',
        scheduleId: 2,
        warmupAt: at('2026-12-18T11:50:00Z'),
        start: at('2026-12-18T12:00:00Z'),
        end: at('2026-12-18T15:00:00Z'),
      },
    ]);
    expect(nextSession([once], at('2026-12-10T00:00:00Z'))?.start).toBe(at('2026-12-18T12:00:00Z'));
    expect(nextSession([once], at('2026-12-19T00:00:00Z'))).toBeUndefined();
  });
});

describe('schedules across daylight-saving changes', () => {
  const berlin = (days: string, startTime: string, endTime: string): ClassScheduleRecord => ({
    id: 3,
    classId: 'cs101',
    days,
    startTime,
    endTime,
    timezone: 'Europe/Berlin',
    startBeforeMin: 0,
    skipDates: [],
    createdBy: 't',
    createdAt: 0,
  });
  const now = at('2026-12-07T00:00:00Z');
  const refusal = (schedule: ClassScheduleRecord) => {
    try {
      checkNewSchedule(schedule, [], now);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('refuses a one-off session in the hour the clocks skip, and never shows one starting after it ends', () => {
    const gap = berlin('2027-03-28', '02:30', '03:00');
    const error = refusal(gap);
    expect(error).toBeInstanceOf(InvalidScheduleError);
    expect((error as LabError).message).toContain(
      '02:30 does not exist on 2027-03-28 in Europe/Berlin: the clocks jump from 02:00 to 03:00; give times outside 02:00-03:00',
    );
    // A schedule stored before this rule has no session that day rather than one that ends before it starts.
    expect(sessionsBetween(gap, at('2027-03-27T00:00:00Z'), at('2027-03-29T00:00:00Z'))).toEqual([]);
    expect(refusal(berlin('2027-03-28', '01:00', '02:30'))).toBeInstanceOf(InvalidScheduleError);
  });

  it('moves a weekly session on the day of a gap by the skipped hour, drops it when nothing is left, and uses the first of a repeated hour, saying so', () => {
    const weekly = berlin('sun', '02:30', '04:00');
    const check = checkNewSchedule(weekly, [], now);
    expect(check.daylightSaving).toEqual([
      'on 2027-03-28 02:30 does not exist in Europe/Berlin (the clocks jump from 02:00 to 03:00); that day the session starts at Sun 28 Mar 2027 03:30 CEST',
      'on 2027-10-31 02:30 happens twice in Europe/Berlin (the clocks go back); the session starts at the first, Sun 31 Oct 2027 02:30 CEST',
    ]);
    const [spring] = sessionsBetween(weekly, at('2027-03-27T12:00:00Z'), at('2027-03-28T12:00:00Z'));
    expect(spring).toMatchObject({ start: at('2027-03-28T01:30:00Z'), end: at('2027-03-28T02:00:00Z') });
    const [autumn] = sessionsBetween(weekly, at('2027-10-30T12:00:00Z'), at('2027-10-31T12:00:00Z'));
    expect(autumn).toMatchObject({ start: at('2027-10-31T00:30:00Z'), end: at('2027-10-31T03:00:00Z') });

    const short = berlin('sun', '02:30', '03:00');
    expect(checkNewSchedule(short, [], now).daylightSaving[0]).toBe(
      'on 2027-03-28 02:30 does not exist in Europe/Berlin (the clocks jump from 02:00 to 03:00), so there is no session that day',
    );
    const around = sessionsBetween(short, at('2027-03-20T00:00:00Z'), at('2027-04-05T00:00:00Z'));
    expect(around.map((x) => new Date(x.start).toISOString())).toEqual([
      '2027-03-21T01:30:00.000Z',
      '2027-04-04T00:30:00.000Z',
    ]);
    expect(around.every((x) => x.end > x.start)).toBe(true);
  });
});

describe('class scheduler over the simulator', () => {
  it('starts the class VMs before each session of a two-session week and shuts them down after', async () => {
    const { store, sim, clock, clusters } = await setup();
    const scheduler = new ClassScheduler({ store, clusters, clock, pollIntervalMs: 20, shutdownTimeoutS: 5 });
    sim.requests.reset();
    clock.set(at('2026-11-30T07:45:00Z')); // 08:45 in Berlin: before the warm-up
    expect(await scheduler.runOnce()).toEqual([]);
    clock.set(at('2026-11-30T07:51:00Z')); // 08:51: warm-up started
    const started = await scheduler.runOnce();
    expect(started.map((a) => [a.vmid, a.action, a.outcome]).sort()).toEqual([
      [300, 'start', 'ok'],
      [301, 'start', 'ok'],
      [302, 'start', 'ok'],
    ]);
    expect(await statuses(store)).toEqual(['running', 'running', 'running']);
    clock.set(at('2026-11-30T08:30:00Z'));
    expect(await scheduler.runOnce()).toEqual([]); // done once per session
    clock.set(at('2026-11-30T09:31:00Z')); // 10:31: the session ended
    const stopped = await scheduler.runOnce();
    expect(stopped.map((a) => [a.vmid, a.action, a.outcome]).sort()).toEqual([
      [300, 'shutdown', 'ok'],
      [301, 'shutdown', 'ok'],
      [302, 'shutdown', 'ok'],
    ]);
    expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
    clock.set(at('2026-12-01T08:00:00Z')); // Tuesday: nothing
    expect(await scheduler.runOnce()).toEqual([]);
    clock.set(at('2026-12-02T07:55:00Z')); // Wednesday's session
    expect((await scheduler.runOnce()).filter((a) => a.outcome === 'ok')).toHaveLength(3);
    clock.set(at('2026-12-02T09:35:00Z'));
    expect((await scheduler.runOnce()).filter((a) => a.outcome === 'ok')).toHaveLength(3);
    // PVE 9: one bulk request per session start and end; PVE paces the VMs' own tasks.
    expect(sim.requests.count(BULK_START)).toBe(2);
    expect(sim.requests.count(BULK_SHUTDOWN)).toBe(2);
    expect(sim.requests.count(START) + sim.requests.count(SHUTDOWN)).toBe(0);
    const audit = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    // Each stop is audited before it is sent, and again with its outcome.
    expect(audit.filter((a) => a.outcome === 'sent')).toHaveLength(6);
    expect(audit.filter((a) => a.outcome === 'ok')).toHaveLength(6);
    expect(audit[0]?.details).toMatchObject({ reason: 'class cs101 session ended' });
    expect(audit.find((a) => a.outcome === 'ok')?.details).toMatchObject({ bulk: true, node: 'pve1' });
    expect(await store.inventory.get('lab1', 100)).toMatchObject({ status: 'running' }); // not the class's
  });

  it('falls back to one request per VM on a cluster without bulk actions (PVE 8), and remembers it', async () => {
    const { store, sim, clock, clusters } = await setup('8.4.1');
    const scheduler = new ClassScheduler({ store, clusters, clock, pollIntervalMs: 20, shutdownTimeoutS: 5 });
    sim.requests.reset();
    clock.set(at('2026-11-30T07:51:00Z'));
    expect((await scheduler.runOnce()).map((a) => a.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(await statuses(store)).toEqual(['running', 'running', 'running']);
    clock.set(at('2026-11-30T09:31:00Z'));
    expect((await scheduler.runOnce()).map((a) => a.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
    expect([sim.requests.count(BULK_START), sim.requests.count(BULK_SHUTDOWN)]).toEqual([1, 0]);
    expect([sim.requests.count(START), sim.requests.count(SHUTDOWN)]).toEqual([3, 3]);
  });

  it('stops a VM that ignores the session-end shutdown after the grace, audited as forced', async () => {
    for (const pveVersion of ['9.1.3', '8.4.1']) {
      const { store, sim, clock, clusters } = await setup(pveVersion);
      const scheduler = new ClassScheduler({ store, clusters, clock, pollIntervalMs: 20, shutdownTimeoutS: 30 });
      clock.set(at('2026-11-30T07:51:00Z'));
      await scheduler.runOnce();
      sim.setIgnoresAcpi(301, true);
      clock.set(at('2026-11-30T09:31:00Z'));
      expect((await scheduler.runOnce()).map((a) => [a.vmid, a.outcome]).sort()).toEqual([
        [300, 'ok'],
        [301, 'ok'],
        [302, 'ok'],
      ]);
      expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
      expect(sim.state.guests.get(301)?.status).toBe('stopped');
      const audit = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
      const forced = audit.filter((a) => a.outcome === 'ok' && a.details.forced === true);
      expect(
        forced.map((a) => a.target),
        pveVersion,
      ).toEqual(['lab1/301']);
      expect(forced[0]?.details.forcedBecause).toBe(
        'VM 301 did not power off within 30 s of a shutdown request, so it was stopped hard',
      );
    }
  });

  it('does nothing on a skipped date', async () => {
    const { store, clock, clusters, schedule } = await setup();
    await store.schedules.remove('cs101', schedule.id);
    await store.schedules.add({ ...schedule, skipDates: ['2026-11-30'] });
    const scheduler = new ClassScheduler({ store, clusters, clock, pollIntervalMs: 20 });
    clock.set(at('2026-11-30T08:00:00Z'));
    expect(await scheduler.runOnce()).toEqual([]);
    expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('lets only the lease holder act, and a handover mid-session starts or stops nothing twice', async () => {
    const { store, sim, clock, clusters } = await setup();
    const a = new ClassScheduler({
      store,
      clusters,
      clock,
      holderId: 'a',
      leaseTtlMs: 60_000,
      pollIntervalMs: 20,
      shutdownTimeoutS: 5,
    });
    const b = new ClassScheduler({
      store,
      clusters,
      clock,
      holderId: 'b',
      leaseTtlMs: 60_000,
      pollIntervalMs: 20,
      shutdownTimeoutS: 5,
    });
    sim.requests.reset();
    clock.set(at('2026-11-30T07:51:00Z'));
    expect(await a.runOnce()).toHaveLength(3);
    expect(await b.runOnce()).toEqual([]);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.abandon(); // a dies holding the lease
    clock.set(at('2026-11-30T08:10:00Z')); // the lease expired: b takes over mid-session
    expect(await b.runOnce()).toEqual([]);
    expect(b.isLeader).toBe(true);
    expect(sim.requests.count(BULK_START)).toBe(1);
    clock.set(at('2026-11-30T09:31:00Z'));
    expect(await b.runOnce()).toHaveLength(3);
    expect(await a.runOnce()).toEqual([]);
    expect(sim.requests.count(BULK_SHUTDOWN)).toBe(1);
  });
});

describe('quotas and the usage ledger', () => {
  it('counts hours outside sessions from our power actions and the sync, and refuses a start with no hours left, naming the next session', async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy(policyOf({ quotaHours: 1, maxRunning: 1 }));
    const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const alice = (await store.classes.getPersonByUsername('alice'))!;
    const viewer = { personId: alice.id, username: 'alice', role: 'student' as const };
    clock.set(at('2026-12-01T08:00:00Z')); // Tuesday, no session
    await power.perform(viewer, 'lab1', 300, 'start');
    clock.set(at('2026-12-01T08:40:00Z'));
    expect((await studentUsage(store, 'cs101', alice.id, clock.now())).usedMs).toBe(40 * 60_000);
    // The VM stops outside our actions (shut down from inside): the sync closes the interval.
    const upid = await clusters.get('lab1').post<string>('/nodes/pve1/qemu/300/status/stop');
    await waitForTask(clusters.get('lab1'), upid, { pollIntervalMs: 20 });
    clock.set(at('2026-12-01T09:10:00Z'));
    await sync.quickSync();
    expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'stopped' });
    const used = await studentUsage(store, 'cs101', alice.id, clock.now());
    expect(used).toMatchObject({ usedMs: 70 * 60_000, quotaMs: 3_600_000, leftMs: 0, running: 0 });
    clock.set(at('2026-12-01T12:00:00Z'));
    const refused = await power.perform(viewer, 'lab1', 300, 'start').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect((refused as QuotaExceededError).code).toBe('LAB_QUOTA_EXCEEDED');
    expect((refused as Error).message).toContain('the next session starts at Wed 2 Dec 2026 09:00 CET');
    expect((await store.audit.list({ actor: 'alice', action: 'vm.start' }))[0]).toMatchObject({ outcome: 'denied' });
    // In a session (warm-up included) the quota does not apply, and session time is not counted.
    clock.set(at('2026-12-02T07:55:00Z'));
    await power.perform(viewer, 'lab1', 300, 'start');
    clock.set(at('2026-12-02T09:30:00Z'));
    expect((await studentUsage(store, 'cs101', alice.id, clock.now())).usedMs).toBe(70 * 60_000);
  });

  it('warns a student whose hours run out while the VM runs, and shuts it down after the grace period', async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy(policyOf({ quotaHours: 1 }));
    const messages: string[] = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (_p, text) => (messages.push(text), true) } },
    );
    clock.set(at('2026-12-01T08:00:00Z'));
    await startVm({ store, clusters, clock }, await studentOf(store, 'alice'), 300);
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.outcome]);
    expect(await tick('2026-12-01T08:50:00Z')).toEqual([]);
    expect(await tick('2026-12-01T09:01:00Z')).toEqual([[300, 'quota-warning', 'ok']]);
    expect(messages).toEqual([
      'cs101-alice has used all 1 h cs101 allows outside sessions and will stop in 10 min; save your work now, and start it again in the next session (Wed 2 Dec 2026 09:00 CET) or ask your teacher for more hours.',
    ]);
    expect(await tick('2026-12-01T09:05:00Z')).toEqual([]);
    expect(await tick('2026-12-01T09:11:00Z')).toEqual([[300, 'quota-shutdown', 'ok']]);
    expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'stopped' });
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(audit?.details).toMatchObject({ reason: 'quota: alice has no hours left outside sessions of cs101' });
  });

  it('tells a student by direct message when their VM is reachable, once per run, and again after a restart', async () => {
    const { store, clock, clusters } = await setup();
    const messages: Array<{ username: string; text: string }> = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (p, text) => (messages.push({ username: p.username, text }), true) } },
    );
    const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => true } });
    const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const alice = await studentOf(store, 'alice');
    const notices = async () =>
      (await scheduler.runOnce()).filter((a) => a.action === 'ready-notice').map((a) => [a.vmid, a.outcome]);
    const untilReachable = async () => {
      await syncUntil(sync, async () => !!(await store.inventory.get('lab1', 300))?.sshAvailable);
    };
    clock.set(at('2026-12-01T12:00:00Z'));
    await power.perform(alice, 'lab1', 300, 'start');
    expect(await notices(), 'not before SSH answers').toEqual([]);
    await untilReachable();
    expect(await notices()).toEqual([[300, 'ok']]);
    expect(messages).toEqual([
      {
        username: 'alice',
        text: expect.stringMatching(/^cs101-alice is ready: connect with: ssh alice@127\.\d+\.\d+\.\d+$/),
      },
    ]);
    expect(await notices(), 'once per run').toEqual([]);
    clock.set(at('2026-12-01T13:00:00Z'));
    await power.perform(alice, 'lab1', 300, 'stop');
    await sync.fullSync();
    clock.set(at('2026-12-01T14:00:00Z'));
    await power.perform(alice, 'lab1', 300, 'start');
    await untilReachable();
    expect(await notices(), 'a new run is a new readiness').toEqual([[300, 'ok']]);
    expect(messages).toHaveLength(2);
  });

  it('reads one inventory list per class for ready notices, and a steady round claims nothing; a new lease holder claims once and sends nothing', async () => {
    const { store: plain, clock, clusters } = await setup();
    const { store, calls, reset } = countingStore(plain);
    const messages: string[] = [];
    const notifier = { notifyPerson: async (_p: unknown, text: string) => (messages.push(text), true) };
    const a = new ClassScheduler({
      store,
      clusters,
      clock,
      holderId: 'a',
      leaseTtlMs: 60_000,
      pollIntervalMs: 20,
      notifier,
    });
    const b = new ClassScheduler({
      store,
      clusters,
      clock,
      holderId: 'b',
      leaseTtlMs: 60_000,
      pollIntervalMs: 20,
      notifier,
    });
    const sync = new SyncEngine({ store: plain, clusters, clock, probe: { isOpen: async () => true } });
    clock.set(at('2026-12-01T12:00:00Z')); // Tuesday: no session, and cs101 has no time policy
    const power = new VmPower({ store: plain, clusters, clock, pollIntervalMs: 20 });
    for (const vmid of [300, 301])
      await power.perform({ personId: null, username: 'root', role: 'admin' }, 'lab1', vmid, 'start');
    await syncUntil(sync, async () =>
      (await plain.inventory.list({ status: 'running' })).filter((v) => v.vmid >= 300).every((v) => v.sshAvailable),
    );
    expect((await a.runOnce()).map((x) => [x.classId, x.vmid, x.action])).toEqual([
      ['cs101', 300, 'ready-notice'],
      ['cs101', 301, 'ready-notice'],
    ]);
    expect(calls('nonces.claim')).toBe(2);
    reset();
    expect(await a.runOnce()).toEqual([]);
    expect(await a.runOnce()).toEqual([]);
    expect(calls('inventory.list'), 'one list per class per round').toBe(2);
    expect(calls('inventory.get')).toBe(0);
    expect(calls('nonces.claim')).toBe(0);
    expect(calls('usage.intervals')).toBe(2);
    await a.abandon();
    clock.set(at('2026-12-01T12:02:00Z')); // a's lease expired: b takes over
    reset();
    expect(await b.runOnce()).toEqual([]);
    expect(b.isLeader).toBe(true);
    expect(calls('nonces.claim'), 'b claims each once, and finds them taken').toBe(2);
    reset();
    expect(await b.runOnce()).toEqual([]);
    expect(calls('nonces.claim')).toBe(0);
    expect(messages).toHaveLength(2);
  });

  it('refuses a start outside a session when maxRunningInClass student VMs of the class run, but not in a session', async () => {
    const { store, clock, clusters } = await setup();
    await store.usage.savePolicy(policyOf({ maxRunningInClass: 1 }));
    const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const student = (username: string) => studentOf(store, username);
    clock.set(at('2026-12-01T12:00:00Z'));
    await power.perform(await student('alice'), 'lab1', 300, 'start');
    const refused = await power.perform(await student('bob'), 'lab1', 301, 'start').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClassRunningLimitError);
    expect((refused as ClassRunningLimitError).code).toBe('LAB_CLASS_RUNNING_LIMIT');
    clock.set(at('2026-12-02T08:10:00Z')); // Wednesday's session
    await power.perform(await student('bob'), 'lab1', 301, 'start');
  });

  it('lets exactly one of three parallel starts (two processes) through a class limit of one, and the refusals name the next session', async () => {
    const { store, clock, clusters } = await setup();
    await store.usage.savePolicy(policyOf({ maxRunningInClass: 1 }));
    // Two processes: two VmPower instances over one store.
    const slackProcess = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const discordProcess = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const student = (username: string) => studentOf(store, username);
    clock.set(at('2026-12-01T12:00:00Z'));
    const results = await Promise.allSettled([
      slackProcess.perform(await student('alice'), 'lab1', 300, 'start'),
      slackProcess.perform(await student('bob'), 'lab1', 301, 'start'),
      discordProcess.perform(await student('carol'), 'lab1', 302, 'start'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(refusals.map((e) => e instanceof ClassRunningLimitError)).toEqual([true, true]);
    expect(refusals[0]!.message).toBe(
      '1 VM(s) of cs101 are running already, the most the class allows outside its sessions; try again when one stops, or in the next session at Wed 2 Dec 2026 09:00 CET, or ask your teacher',
    );
    expect((await statuses(store)).filter((s) => s === 'running')).toHaveLength(1);
    expect(await store.sync.getLease('class-start:cs101')).toBeUndefined();
  });

  it('refuses a second running VM beyond maxRunning', async () => {
    const { store, clock, clusters } = await setup();
    const alice = (await store.classes.getPersonByUsername('alice'))!;
    await store.classes.assignVm(
      { clusterId: 'lab1', vmid: 301, personId: alice.id, classId: 'cs101', role: 'student' },
      MONDAY,
    );
    await store.usage.savePolicy(policyOf({ maxRunning: 1 }));
    const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const viewer = { personId: alice.id, username: 'alice', role: 'student' as const };
    await power.perform(viewer, 'lab1', 300, 'start');
    const refused = await power.perform(viewer, 'lab1', 301, 'start').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyRunningError);
    expect((refused as Error).message).toBe(
      'alice already has 1 VM(s) of cs101 running, the most the class allows; stop one first',
    );
  });
});

describe('idle auto-shutdown', () => {
  it('warns the owner of an idle VM by direct message and shuts it down 10 min later unless kept; keep works once per session', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(policyOf({ idleCpuBelowPercent: 5, idleForMinutes: 30 }));
    const messages: Array<{ username: string; text: string }> = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (p, text) => (messages.push({ username: p.username, text }), true) } },
    );
    const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
    const admin = { personId: null, username: 'root', role: 'admin' as const };
    clock.set(at('2026-12-01T10:00:00Z')); // Tuesday: no session
    for (const vmid of [300, 301, 302]) await power.perform(admin, 'lab1', vmid, 'start');
    sim.state.guests.get(300)!.cpuLoad = 0.01; // alice idles
    sim.state.guests.get(301)!.cpuLoad = 0.6; // bob works
    sim.state.guests.get(302)!.cpuLoad = 0.02; // carol idles, then keeps it
    sim.requests.reset();
    const tick = ticker({ clock, sync, scheduler }, (a) => a);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:20:00Z')).toEqual([]);
    const warned = await tick('2026-12-01T10:31:00Z');
    expect(warned.map((a) => [a.vmid, a.action, a.outcome])).toEqual([
      [300, 'idle-warning', 'ok'],
      [302, 'idle-warning', 'ok'],
    ]);
    expect(messages).toContainEqual({
      username: 'alice',
      text: 'cs101-alice has been idle for 30 min and will stop in 10 min. Why: below 5% CPU. /myvm keep to keep it running.',
    });
    const carol = (await store.classes.getPersonByUsername('carol'))!;
    const carolViewer = { personId: carol.id, username: 'carol', role: 'student' as const };
    clock.set(at('2026-12-01T10:35:00Z'));
    expect(await keepVmRunning(store, carolViewer, 'lab1', 302, clock.now())).toEqual({
      postponed: true,
      keepsLeft: 0,
    });
    expect(await tick('2026-12-01T10:40:00Z')).toEqual([]);
    const stopped = await tick('2026-12-01T10:41:00Z');
    expect(stopped.map((a) => [a.vmid, a.action, a.outcome])).toEqual([[300, 'idle-shutdown', 'ok']]);
    expect(await statuses(store)).toEqual(['stopped', 'running', 'running']);
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(audit).toMatchObject({ target: 'lab1/300', outcome: 'ok' });
    expect(String(audit!.details.reason)).toMatch(/^idle: below 5% CPU for 40 min/);
    // Carol's idle time started again at her keep: warned at 11:05; a second keep is refused.
    expect((await tick('2026-12-01T11:06:00Z')).map((a) => [a.vmid, a.action])).toEqual([[302, 'idle-warning']]);
    expect(messages.at(-1)).toEqual({
      username: 'carol',
      text: 'cs101-carol has been idle for 30 min and will stop in 10 min. Why: below 5% CPU. Save your work before then.',
    });
    const again = await keepVmRunning(store, carolViewer, 'lab1', 302, clock.now()).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(KeepAlreadyUsedError);
    expect((again as KeepAlreadyUsedError).code).toBe('LAB_KEEP_USED');
    expect((await tick('2026-12-01T11:16:00Z')).map((a) => [a.vmid, a.action])).toEqual([[302, 'idle-shutdown']]);
    // Idle detection read only what the sync fetched: one /cluster/resources per sync, nothing per VM.
    expect(sim.requests.count('GET /cluster/resources')).toBe(7); // the seven ticks' syncs
    expect(sim.requests.count('GET /nodes/{node}/qemu/{vmid}/status/current')).toBe(0);
  });
});

describe('keeps per session and the warning delay, per class', () => {
  const policy = policyOf({ idleCpuBelowPercent: 5, idleForMinutes: 30 });

  it('allows as many keeps per session as the class says, refuses one more with the reason, and allows them again after a session boundary', async () => {
    const { store } = await setup();
    await store.usage.savePolicy({ ...policy, keepsPerSession: 2 });
    const alice = await studentOf(store, 'alice');
    /** An idle warning of VM 300 pending since `iso`, as the scheduler records it. */
    const warned = async (iso: string) => {
      const record = await store.usage.idle('lab1', 300);
      await store.usage.saveIdle({
        clusterId: 'lab1',
        vmid: 300,
        idleSince: at(iso) - 30 * 60_000,
        warnedAt: at(iso),
        keptAt: record?.keptAt ?? null,
        keepsUsed: record?.keepsUsed ?? 0,
      });
    };
    await warned('2026-12-01T09:59:00Z');
    expect(await keepVmRunning(store, alice, 'lab1', 300, at('2026-12-01T10:00:00Z'))).toEqual({
      postponed: true,
      keepsLeft: 1,
    });
    await warned('2026-12-01T10:59:00Z');
    expect(await keepVmRunning(store, alice, 'lab1', 300, at('2026-12-01T11:00:00Z'))).toEqual({
      postponed: true,
      keepsLeft: 0,
    });
    await warned('2026-12-01T11:59:00Z');
    const third = await keepVmRunning(store, alice, 'lab1', 300, at('2026-12-01T12:00:00Z')).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(KeepAlreadyUsedError);
    expect((third as LabError).code).toBe('LAB_KEEP_USED');
    expect((third as Error).message).toBe(
      'cs101-alice was last kept running at 2026-12-01T11:00:00.000Z, and cs101 allows 2 keeps per session; save your work before it stops',
    );
    expect(await store.usage.idle('lab1', 300)).toMatchObject({ keptAt: at('2026-12-01T11:00:00Z'), keepsUsed: 2 });
    // Wednesday's session warms up at 07:50 UTC: a boundary, so the count starts again.
    await warned('2026-12-02T07:59:00Z');
    expect(await keepVmRunning(store, alice, 'lab1', 300, at('2026-12-02T08:00:00Z'))).toEqual({
      postponed: true,
      keepsLeft: 1,
    });
    expect(
      (await store.audit.list({ actor: 'alice', action: 'vm.keep' })).map((e) => e.details.keepsUsed).sort(),
    ).toEqual([1, 1, 2]);
  });

  it('refuses every keep in a class that allows none, and its idle warning does not offer one', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy({ ...policy, keepsPerSession: 0 });
    const messages: string[] = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (_p, text) => (messages.push(text), true) } },
    );
    const alice = await studentOf(store, 'alice');
    clock.set(at('2026-12-01T10:00:00Z'));
    await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform(alice, 'lab1', 300, 'start');
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    for (const iso of ['2026-12-01T10:01:00Z', '2026-12-01T10:31:00Z']) {
      clock.set(at(iso));
      await sync.quickSync();
      await scheduler.runOnce();
    }
    expect(messages).toEqual([
      'cs101-alice has been idle for 30 min and will stop in 10 min. Why: below 5% CPU. Save your work before then.',
    ]);
    const refused = await keepVmRunning(store, alice, 'lab1', 300, clock.now()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeepNotAllowedError);
    expect((refused as LabError).code).toBe('LAB_KEEP_NOT_ALLOWED');
    expect((refused as Error).message).toBe(
      'cs101 does not let cs101-alice be kept running past an idle warning; save your work before it stops',
    );
    expect(await store.usage.idle('lab1', 300)).toMatchObject({ warnedAt: at('2026-12-01T10:31:00Z'), keptAt: null });
  });

  it('stops an idle VM after its class’s warning delay, and a class without one after the scheduler’s', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.classes.createClass({ id: 'cs102', name: 'CS 102', templateId: null, ownerId: null }, MONDAY);
    const bob = (await store.classes.getPersonByUsername('bob'))!;
    await store.classes.assignVm(
      { clusterId: 'lab1', vmid: 301, personId: bob.id, classId: 'cs102', role: 'student' },
      MONDAY,
    );
    await store.usage.savePolicy({ ...policy, idleWarnMinutes: 3 });
    await store.usage.savePolicy({ ...policy, classId: 'cs102' });
    const messages: Array<{ username: string; text: string }> = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      {
        idleWarningMinutes: 7,
        notifier: { notifyPerson: async (p, text) => (messages.push({ username: p.username, text }), true) },
      },
    );
    const admin = { personId: null, username: 'root', role: 'admin' as const };
    clock.set(at('2026-12-01T10:00:00Z'));
    for (const vmid of [300, 301])
      await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform(admin, 'lab1', vmid, 'start');
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    sim.state.guests.get(301)!.cpuLoad = 0.01;
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.classId, a.vmid, a.action]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([
      ['cs101', 300, 'idle-warning'],
      ['cs102', 301, 'idle-warning'],
    ]);
    expect(messages).toEqual([
      {
        username: 'alice',
        text: 'cs101-alice has been idle for 30 min and will stop in 3 min. Why: below 5% CPU. /myvm keep to keep it running.',
      },
      {
        username: 'bob',
        text: 'cs101-bob has been idle for 30 min and will stop in 7 min. Why: below 5% CPU. /myvm keep to keep it running.',
      },
    ]);
    expect(await tick('2026-12-01T10:33:59Z')).toEqual([]);
    expect(await tick('2026-12-01T10:34:00Z')).toEqual([['cs101', 300, 'idle-shutdown']]);
    expect(await tick('2026-12-01T10:37:59Z')).toEqual([]);
    expect(await tick('2026-12-01T10:38:00Z')).toEqual([['cs102', 301, 'idle-shutdown']]);
    expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('gives the class’s warning delay to the quota warning too', async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy({
      ...policy,
      quotaHours: 1,
      idleCpuBelowPercent: null,
      idleForMinutes: null,
      idleWarnMinutes: 2,
    });
    const messages: string[] = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (_p, text) => (messages.push(text), true) } },
    );
    clock.set(at('2026-12-01T08:00:00Z'));
    await startVm({ store, clusters, clock }, await studentOf(store, 'alice'), 300);
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action]);
    expect(await tick('2026-12-01T09:01:00Z')).toEqual([[300, 'quota-warning']]);
    expect(messages).toEqual([
      'cs101-alice has used all 1 h cs101 allows outside sessions and will stop in 2 min; save your work now, and start it again in the next session (Wed 2 Dec 2026 09:00 CET) or ask your teacher for more hours.',
    ]);
    expect(await tick('2026-12-01T09:02:59Z')).toEqual([]);
    expect(await tick('2026-12-01T09:03:00Z')).toEqual([[300, 'quota-shutdown']]);
  });
});

describe('no stop without a delivered warning', () => {
  const idlePolicy = policyOf({ idleCpuBelowPercent: 5, idleForMinutes: 30 });
  /** A notifier whose messages get through only while `up` is set; the students have accounts. */
  const flaky = () => {
    const sent: string[] = [];
    const n = {
      up: false,
      sent,
      notifyPerson: async (_p: unknown, text: string) => (n.up ? (sent.push(text), true) : false),
      reaches: async () => true,
    };
    return n;
  };

  it('keeps an idle VM running while its warning does not get through, tries again each round, and stops it 10 min after the warning that arrived', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(idlePolicy);
    const notifier = flaky();
    const scheduler = schedulerOver({ store, clusters, clock }, { notifier });
    clock.set(at('2026-12-01T10:00:00Z'));
    await startVm({ store, clusters, clock }, ROOT, 300);
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.outcome]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([[300, 'idle-warning', 'failed']]);
    expect(await store.usage.idle('lab1', 300)).toMatchObject({ warnedAt: null });
    expect(await tick('2026-12-01T10:45:00Z')).toEqual([[300, 'idle-warning', 'failed']]);
    expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'running' });
    notifier.up = true;
    expect(await tick('2026-12-01T10:46:00Z')).toEqual([[300, 'idle-warning', 'ok']]);
    expect(notifier.sent).toHaveLength(1);
    expect(await tick('2026-12-01T10:55:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:56:00Z')).toEqual([[300, 'idle-shutdown', 'ok']]);
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(String(audit!.details.reason)).toMatch(/warned 10 min before$/);
  });

  it('stops an idle VM whose owner has no chat account, and the audit says no warning was delivered', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(idlePolicy);
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async () => false, reaches: async () => false } },
    );
    clock.set(at('2026-12-01T10:00:00Z'));
    await startVm({ store, clusters, clock }, ROOT, 300);
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.outcome, a.error]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([
      [300, 'idle-warning', 'failed', 'the owner has no chat account to warn'],
    ]);
    expect(await tick('2026-12-01T10:41:00Z')).toEqual([[300, 'idle-shutdown', 'ok', undefined]]);
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(audit!.details.reason).toBe(
      'idle: below 5% CPU for 40 min, no warning delivered (the owner has no chat account)',
    );
  });

  it('keeps a VM over quota running while the quota warning does not get through, and stops it after the one that arrived', async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy({ ...idlePolicy, quotaHours: 1, idleCpuBelowPercent: null, idleForMinutes: null });
    const notifier = flaky();
    const scheduler = schedulerOver({ store, clusters, clock }, { notifier });
    clock.set(at('2026-12-01T08:00:00Z'));
    await startVm({ store, clusters, clock }, await studentOf(store, 'alice'), 300);
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.outcome]);
    expect(await tick('2026-12-01T09:01:00Z')).toEqual([[300, 'quota-warning', 'failed']]);
    expect(await tick('2026-12-01T09:20:00Z')).toEqual([[300, 'quota-warning', 'failed']]);
    notifier.up = true;
    expect(await tick('2026-12-01T09:21:00Z')).toEqual([[300, 'quota-warning', 'ok']]);
    expect(await tick('2026-12-01T09:30:00Z')).toEqual([]);
    expect(await tick('2026-12-01T09:31:00Z')).toEqual([[300, 'quota-shutdown', 'ok']]);
    expect(notifier.sent).toHaveLength(1);
  });

  it('tries a "ready" message that did not get through again next round, and sends it once it does', async () => {
    const { store, clock, clusters } = await setup();
    const notifier = flaky();
    const scheduler = schedulerOver({ store, clusters, clock }, { notifier });
    const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => true } });
    clock.set(at('2026-12-01T12:00:00Z'));
    await startVm({ store, clusters, clock }, await studentOf(store, 'alice'), 300);
    await syncUntil(sync, async () => !!(await store.inventory.get('lab1', 300))?.sshAvailable);
    const notices = async () =>
      (await scheduler.runOnce()).filter((a) => a.action === 'ready-notice').map((a) => [a.vmid, a.outcome]);
    expect(await notices()).toEqual([[300, 'failed']]);
    expect(await notices()).toEqual([[300, 'failed']]);
    notifier.up = true;
    expect(await notices()).toEqual([[300, 'ok']]);
    expect(await notices()).toEqual([]);
    expect(notifier.sent).toEqual([expect.stringMatching(/^cs101-alice is ready: /)]);
  });

  it('measures the idle window of a VM from its start, not from an idle record of an earlier run', async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(idlePolicy);
    const messages: string[] = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      { notifier: { notifyPerson: async (_p, text) => (messages.push(text), true) } },
    );
    // Idle since 09:00 in an earlier run that stopped while no scheduler looked.
    await store.usage.saveIdle({
      clusterId: 'lab1',
      vmid: 300,
      idleSince: at('2026-12-01T09:00:00Z'),
      warnedAt: null,
      keptAt: null,
      keepsUsed: 0,
    });
    clock.set(at('2026-12-01T10:00:00Z'));
    await startVm({ store, clusters, clock }, ROOT, 300);
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(messages).toEqual([]);
    expect(await tick('2026-12-01T10:29:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:30:00Z')).toEqual([[300, 'idle-warning']]);
  });
});

describe('/myvm keep answers only an idle warning', () => {
  it('with no idle warning pending keeps nothing, uses no keep and starts no idle time', async () => {
    const { store } = await setup();
    await store.usage.savePolicy(policyOf());
    const alice = await studentOf(store, 'alice');
    const refused = await keepVmRunning(store, alice, 'lab1', 300, at('2026-12-01T10:00:00Z')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NothingToKeepError);
    expect((refused as LabError).code).toBe('LAB_NOTHING_TO_KEEP');
    expect((refused as Error).message).toBe(
      'cs101-alice has no idle warning pending, so there is nothing to keep; use /myvm keep after an idle warning',
    );
    expect(await store.usage.idle('lab1', 300)).toBeUndefined();
    expect(await store.audit.list({ actor: 'alice', action: 'vm.keep' })).toEqual([]);
  });

  it('after a quota warning says the keep does not apply and when the VM stops, and the VM still stops', async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy(policyOf({ quotaHours: 1 }));
    const scheduler = schedulerOver({ store, clusters, clock }, { notifier: { notifyPerson: async () => true } });
    const alice = await studentOf(store, 'alice');
    clock.set(at('2026-12-01T08:00:00Z'));
    await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform(alice, 'lab1', 300, 'start');
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.outcome]);
    expect(await tick('2026-12-01T09:01:00Z')).toEqual([[300, 'quota-warning', 'ok']]);
    clock.set(at('2026-12-01T09:03:00Z'));
    const refused = await keepVmRunning(store, alice, 'lab1', 300, clock.now()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeepAfterQuotaError);
    expect((refused as LabError).code).toBe('LAB_KEEP_QUOTA');
    expect((refused as Error).message).toBe(
      "cs101-alice stops at Tue 1 Dec 2026 10:11 CET because its hours outside cs101's sessions are used up, which /myvm keep cannot change; save your work now and ask your teacher for more hours",
    );
    expect(await tick('2026-12-01T09:11:00Z')).toEqual([[300, 'quota-shutdown', 'ok']]);
  });
});

describe('idle stops and scheduled sessions', () => {
  const idlePolicy = policyOf({ idleCpuBelowPercent: 5, idleForMinutes: 30 });
  const recording = () => {
    const sent: Array<{ username: string; text: string }> = [];
    return {
      sent,
      notifyPerson: async (p: { username: string }, text: string) => (sent.push({ username: p.username, text }), true),
      reaches: async () => true,
    };
  };

  /** Runs Wednesday's session (VMs started at its 07:50 UTC warm-up, idle from then on) up to 09:29 UTC; returns every action. */
  async function idleSession(policy: ClassTimePolicyRecord) {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(policy);
    const notifier = recording();
    const scheduler = schedulerOver({ store, clusters, clock }, { notifier });
    const tick = ticker({ clock, sync, scheduler }, (a) => `${a.vmid} ${a.action}`);
    const actions = await tick('2026-12-02T07:50:00Z');
    expect(actions.sort()).toEqual(['300 start', '301 start', '302 start']);
    for (const s of STUDENTS) sim.state.guests.get(s.vmid)!.cpuLoad = 0.01;
    for (const time of ['08:00', '08:21', '08:31', '08:45', '09:00', '09:29'])
      actions.push(...(await tick(`2026-12-02T${time}:00Z`)));
    return { actions, store, notifier };
  }

  it('leaves the VMs of a scheduled session running however idle they are, and warns no one', async () => {
    const { actions, store, notifier } = await idleSession(idlePolicy);
    expect(actions.filter((a) => / idle-/.test(a))).toEqual([]);
    expect(notifier.sent).toEqual([]);
    expect(await statuses(store)).toEqual(['running', 'running', 'running']);
  });

  it('warns and stops idle VMs during sessions too when the class turns idleInSessions on', async () => {
    const { actions, store } = await idleSession({ ...idlePolicy, idleInSessions: true });
    expect(actions.filter((a) => / idle-/.test(a)).sort()).toEqual([
      '300 idle-shutdown',
      '300 idle-warning',
      '301 idle-shutdown',
      '301 idle-warning',
      '302 idle-shutdown',
      '302 idle-warning',
    ]);
    expect(await statuses(store)).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it("sends an idle warning its student cannot get (no chat account) to the class's teachers", async () => {
    const { store, clock, clusters, sim, sync } = await setup();
    await store.usage.savePolicy(idlePolicy);
    const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'Ada', role: 'teacher' }, 1);
    await store.classes.addMember({ classId: 'cs101', personId: teacher.id, role: 'teacher' });
    const sent: Array<{ username: string; text: string }> = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      {
        notifier: {
          notifyPerson: async (p, text) =>
            p.username === 'lovelace' && (sent.push({ username: p.username, text }), true),
          reaches: async (p) => p.username === 'lovelace',
        },
      },
    );
    clock.set(at('2026-12-01T10:00:00Z'));
    await startVm({ store, clusters, clock }, ROOT, 300);
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action, a.error]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([
      [300, 'idle-warning', 'the owner has no chat account to warn; told 1 teacher(s) instead'],
    ]);
    expect(sent).toEqual([
      {
        username: 'lovelace',
        text: "cs101-alice (alice's, cs101) has been idle for 30 min (below 5% CPU) and will stop in 10 min. alice has no chat account to warn, so you are told instead.",
      },
    ]);
    expect(await tick('2026-12-01T10:41:00Z')).toEqual([[300, 'idle-shutdown', undefined]]);
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(audit!.details.reason).toBe(
      'idle: below 5% CPU for 40 min, the owner has no chat account; 1 teacher(s) were warned 10 min before',
    );
  });

  it("sends a quota warning its student cannot get to the class's teachers", async () => {
    const { store, clock, clusters, sync } = await setup();
    await store.usage.savePolicy(policyOf({ quotaHours: 1 }));
    const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'Ada', role: 'teacher' }, 1);
    await store.classes.addMember({ classId: 'cs101', personId: teacher.id, role: 'teacher' });
    const sent: string[] = [];
    const scheduler = schedulerOver(
      { store, clusters, clock },
      {
        notifier: {
          notifyPerson: async (p, text) => p.username === 'lovelace' && (sent.push(text), true),
          reaches: async (p) => p.username === 'lovelace',
        },
      },
    );
    clock.set(at('2026-12-01T08:00:00Z'));
    await startVm({ store, clusters, clock }, await studentOf(store, 'alice'), 300);
    const tick = ticker({ clock, sync, scheduler }, (a) => [a.vmid, a.action]);
    expect(await tick('2026-12-01T09:01:00Z')).toEqual([[300, 'quota-warning']]);
    expect(sent).toEqual([
      'alice has used 101% of their hours in cs101 (1 h of 1 h outside sessions). Give more with /lab quota cs101 alice +5h if they need it.',
      "cs101-alice (alice's, cs101) has used all 1 h the class allows outside sessions and will stop in 10 min. alice has no chat account to warn, so you are told instead.",
    ]);
    expect(await tick('2026-12-01T09:11:00Z')).toEqual([[300, 'quota-shutdown']]);
    const [audit] = await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' });
    expect(String(audit!.details.reason)).toMatch(/1 teacher\(s\) were warned$/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import {
  ClassScheduler,
  SyncEngine,
  VmPower,
  type ClassTimePolicyRecord,
  type Clock,
  type ClusterApis,
  type ProxmoxClient,
  type Store,
} from '../src/index.js';
import { ConsoleSessionLimits } from '../src/store/index.js';
import { pveResources } from '../src/pve/index.js';
import type { ScheduledAction } from '../src/schedule/class-scheduler.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, fastSim } from './helpers.js';

let sims: PveSim[] = [];
let apis: ProxmoxClient[] = [];
afterEach(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
  apis = [];
});

/** A clock the test moves; `sleep` yields briefly without moving it. */
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
];
const at = (iso: string) => Date.parse(iso);
const ROOT = { personId: null, username: 'root', role: 'admin' as const };

/** A class with two student VMs on the simulator (over HTTPS), a memory store, and DMs collected. */
async function setup(policy: Partial<ClassTimePolicyRecord>) {
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
  const sim = await fastSim({ timeScale: 100, scenario });
  sims.push(sim);
  const api = clientFor(sim, { clusterId: 'lab1', retry: { maxAttempts: 1 }, timeoutMs: 5000 });
  apis.push(api);
  const clusters: ClusterApis = { get: () => api, ids: () => ['lab1'] };
  // Tuesday 10:00 UTC: the class has no schedule, so every hour is outside a session.
  const clock = fakeClock(at('2026-12-01T10:00:00Z'));
  const store: Store = createMemoryStore();
  const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } });
  await sync.quickSync();
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, clock.now());
  for (const s of STUDENTS) {
    const person = await store.classes.createPerson(
      { username: s.name.replace('cs101-', ''), displayName: s.name, role: 'student' },
      clock.now(),
    );
    await store.classes.assignVm(
      { clusterId: 'lab1', vmid: s.vmid, personId: person.id, classId: 'cs101', role: 'student' },
      clock.now(),
    );
  }
  await store.usage.savePolicy({
    classId: 'cs101',
    quotaHours: null,
    maxRunning: null,
    maxRunningInClass: null,
    idleCpuBelowPercent: null,
    idleForMinutes: null,
    keepsPerSession: 0,
    idleWarnMinutes: null,
    ...policy,
  });
  const messages: Array<{ username: string; text: string }> = [];
  const scheduler = new ClassScheduler({
    store,
    clusters,
    clock,
    pollIntervalMs: 20,
    shutdownTimeoutS: 5,
    notifier: { notifyPerson: async (p, text) => (messages.push({ username: p.username, text }), true) },
  });
  const power = new VmPower({ store, clusters, clock, pollIntervalMs: 20 });
  for (const s of STUDENTS) await power.perform(ROOT, 'lab1', s.vmid, 'start');
  // The guest agents answer once the guests have booted.
  for (const s of STUDENTS) {
    for (let i = 0; i < 200; i++) {
      const ok = await pveResources(api)
        .qemu(s.node, s.vmid)
        .agentUsers()
        .then(
          () => true,
          () => false,
        );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const tick = async (iso: string): Promise<Array<[number, ScheduledAction['action'], string | undefined]>> => {
    clock.set(at(iso));
    await sync.quickSync();
    return (await scheduler.runOnce()).map((a) => [a.vmid, a.action, a.signal]);
  };
  const shutdowns = async () =>
    (await store.audit.list({ actor: 'scheduler', action: 'vm.shutdown' })).map((e) => [
      e.target,
      e.details.signal,
      String(e.details.reason),
    ]);
  return { sim, store, clock, scheduler, messages, tick, shutdowns };
}

describe('idle that knows who is there', () => {
  it('stops a VM nobody is logged in to (per its guest agent) and leaves one with a user alone, naming the signal', async () => {
    const { sim, messages, tick, shutdowns } = await setup({ idleForMinutes: 30, idleUsers: true });
    sim.setGuestUsers(301, ['bob']);
    // Both VMs are busy on CPU: only the users signal is on.
    sim.state.guests.get(300)!.cpuLoad = 0.9;
    sim.state.guests.get(301)!.cpuLoad = 0.9;
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:32:00Z')).toEqual([[300, 'idle-warning', 'users']]);
    expect(messages).toEqual([
      {
        username: 'alice',
        text: 'cs101-alice has been idle for 30 min and will stop in 10 min. Why: nobody logged in. Save your work before then.',
      },
    ]);
    expect(await tick('2026-12-01T10:43:00Z')).toEqual([[300, 'idle-shutdown', 'users']]);
    expect(await shutdowns()).toEqual([
      ['lab1/300', 'users', 'idle: nobody logged in for 42 min, warned 10 min before'],
    ]);
    expect(sim.state.guests.get(300)!.status).toBe('stopped');
    // Bob logs out: his idle time starts then.
    sim.setGuestUsers(301, []);
    expect(await tick('2026-12-01T10:50:00Z')).toEqual([]);
    expect(await tick('2026-12-01T11:19:00Z')).toEqual([]);
    expect(await tick('2026-12-01T11:20:00Z')).toEqual([[301, 'idle-warning', 'users']]);
  });

  it('with CPU and users both on, a student reading at low CPU is not idle; nobody there at low CPU is', async () => {
    const { sim, messages, tick, shutdowns } = await setup({
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      idleUsers: true,
    });
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    sim.state.guests.get(301)!.cpuLoad = 0.01;
    sim.setGuestUsers(301, [{ user: 'bob', domain: 'SCHOOL' }]);
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([[300, 'idle-warning', 'cpu+users']]);
    expect(messages.map((m) => m.text)).toEqual([
      'cs101-alice has been idle for 30 min and will stop in 10 min. Why: below 5% CPU and nobody logged in. Save your work before then.',
    ]);
    expect(await tick('2026-12-01T10:41:00Z')).toEqual([[300, 'idle-shutdown', 'cpu+users']]);
    expect((await shutdowns())[0]?.[2]).toMatch(/^idle: below 5% CPU and nobody logged in for 40 min/);
    expect(sim.state.guests.get(301)!.status).toBe('running');
  });

  it('never calls a VM idle while a console session of ours is open on it, unless the class turned that off', async () => {
    const { store, clock, messages, tick } = await setup({ idleCpuBelowPercent: 5, idleForMinutes: 30 });
    const sim = sims[0]!;
    sim.state.guests.get(300)!.cpuLoad = 0.01;
    sim.state.guests.get(301)!.cpuLoad = 0.01;
    const alice = (await store.classes.getPersonByUsername('alice'))!;
    // A day-long lease: the test's clock jumps ahead faster than a heartbeat would renew it.
    const held = await new ConsoleSessionLimits({ store, clock, leaseTtlMs: 86_400_000 }).take(alice.id, {
      clusterId: 'lab1',
      vmid: 300,
      node: 'pve1',
    });
    expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:31:00Z')).toEqual([[301, 'idle-warning', 'cpu']]);
    expect(messages.map((m) => m.username)).toEqual(['bob']);
    await store.usage.savePolicy({ ...(await store.usage.policy('cs101'))!, consoleNeverIdle: false });
    expect(await tick('2026-12-01T10:32:00Z')).toEqual([]);
    expect(await tick('2026-12-01T11:02:00Z')).toEqual([
      [300, 'idle-warning', 'cpu'],
      [301, 'idle-shutdown', 'cpu'],
    ]);
    await held.release();
  });

  it('warns, then stops, a VM nobody connected to within the class’s minutes of its start; a login or a console counts', async () => {
    const { sim, store, messages, tick, shutdowns } = await setup({ neverConnectedMinutes: 15 });
    // Bob opened a console (audited by the relay) since his VM started.
    await store.audit.record({
      at: at('2026-12-01T10:05:00Z'),
      actor: 'bob',
      action: 'console.open',
      target: 'vm lab1/301',
      outcome: 'ok',
      details: {},
    });
    expect(await tick('2026-12-01T10:14:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:15:00Z')).toEqual([[300, 'idle-warning', 'never-connected']]);
    expect(messages).toEqual([
      {
        username: 'alice',
        text: 'cs101-alice has been running for 15 min and nobody has connected to it, so it will stop in 10 min. Why: nobody connected within 15 min of its start. Connect to it (/myvm connect or /myvm console) to keep it running.',
      },
    ]);
    // A second round neither warns again nor stops early.
    expect(await tick('2026-12-01T10:20:00Z')).toEqual([]);
    expect(await tick('2026-12-01T10:25:00Z')).toEqual([[300, 'idle-shutdown', 'never-connected']]);
    expect(await shutdowns()).toEqual([
      ['lab1/300', 'never-connected', 'idle: nobody connected within 15 min of its start, warned 10 min before'],
    ]);
    expect(sim.state.guests.get(301)!.status).toBe('running');
    expect(messages).toHaveLength(1);
  });

  it('lets a VM whose student logged in after the warning keep running', async () => {
    const { sim, tick, shutdowns } = await setup({ neverConnectedMinutes: 15 });
    sim.setGuestUsers(301, ['bob']);
    expect(await tick('2026-12-01T10:16:00Z')).toEqual([[300, 'idle-warning', 'never-connected']]);
    sim.setGuestUsers(300, ['alice']);
    expect(await tick('2026-12-01T10:27:00Z')).toEqual([]);
    expect(await shutdowns()).toEqual([]);
    expect(sim.state.guests.get(300)!.status).toBe('running');
  });
});

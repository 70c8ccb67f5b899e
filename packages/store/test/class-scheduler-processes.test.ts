import { describe, expect, it } from 'vitest';
import { ClassScheduler, ProxmoxClient, SyncEngine, type Clock, type ClusterApis } from '@lab/proxmox-sdk';
import { presets, startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const { engines, sharedUrl } = await sharedStores('class scheduler');

const at = (iso: string) => Date.parse(iso);
const STUDENTS = [
  { vmid: 300, node: 'pve1', name: 'cs101-alice' },
  { vmid: 301, node: 'pve2', name: 'cs101-bob' },
];

describe.each(engines)('class scheduler of two processes on one %s store', (engine) => {
  it('acts only in the lease holder, and a handover mid-session neither starts nor stops a VM twice', async () => {
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
    const sim = await startPveSim({ timeScale: 100, scenario });
    const api = new ProxmoxClient({
      clusterId: 'lab1',
      baseUrl: sim.url,
      auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
      tls: { fingerprint: sim.fingerprint },
    });
    const clusters: ClusterApis = { get: () => api, ids: () => ['lab1'] };
    let now = at('2026-11-30T07:00:00Z');
    const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
    const url = await sharedUrl(engine);
    // Two bot processes: two connections to one database.
    const [one, two] = [await openStore(url), await openStore(url)];
    try {
      await new SyncEngine({ store: one, clusters, clock, probe: { isOpen: async () => false } }).quickSync();
      await one.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      for (const s of STUDENTS) {
        const person = await one.classes.createPerson(
          { username: s.name.slice(6), displayName: s.name, role: 'student' },
          now,
        );
        await one.classes.assignVm(
          { clusterId: 'lab1', vmid: s.vmid, personId: person.id, classId: 'cs101', role: 'student' },
          now,
        );
      }
      await one.schedules.add({
        classId: 'cs101',
        days: 'mon',
        startTime: '09:00',
        endTime: '10:30',
        timezone: 'Europe/Berlin',
        startBeforeMin: 10,
        skipDates: [],
        createdBy: 'lovelace',
        createdAt: now,
      });
      const a = new ClassScheduler({
        store: one,
        clusters,
        clock,
        holderId: 'a',
        leaseTtlMs: 60_000,
        pollIntervalMs: 20,
        shutdownTimeoutS: 5,
      });
      const b = new ClassScheduler({
        store: two,
        clusters,
        clock,
        holderId: 'b',
        leaseTtlMs: 60_000,
        pollIntervalMs: 20,
        shutdownTimeoutS: 5,
      });
      sim.requests.reset();
      now = at('2026-11-30T07:52:00Z');
      const [byA, byB] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect([...byA, ...byB].map((x) => [x.vmid, x.action, x.outcome]).sort()).toEqual([
        [300, 'start', 'ok'],
        [301, 'start', 'ok'],
      ]);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      const [leader, other] = a.isLeader ? [a, b] : [b, a];
      await leader.abandon(); // the leader's process dies holding the lease
      now = at('2026-11-30T08:20:00Z'); // its lease has expired: the other takes over mid-session
      expect(await other.runOnce()).toEqual([]);
      expect(other.isLeader).toBe(true);
      now = at('2026-11-30T09:31:00Z');
      expect((await other.runOnce()).map((x) => [x.vmid, x.action, x.outcome]).sort()).toEqual([
        [300, 'shutdown', 'ok'],
        [301, 'shutdown', 'ok'],
      ]);
      expect(await leader.runOnce()).toEqual([]);
      // One power task per VM and direction, whether sent one by one or as PVE 9's bulk request.
      const tasks = [...sim.state.tasks.tasks.values()].map((t) => `${t.type}:${t.id}`).sort();
      expect(tasks.filter((t) => /^qm(start|shutdown):/.test(t))).toEqual([
        'qmshutdown:300',
        'qmshutdown:301',
        'qmstart:300',
        'qmstart:301',
      ]);
      expect(sim.requests.count('POST /cluster/bulk-action/guest/start')).toBe(1);
      expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(0);
      expect(
        (await two.audit.list({ actor: 'scheduler' }))
          .filter((e) => e.outcome === 'ok')
          .map((e) => e.action)
          .sort(),
      ).toEqual(['vm.shutdown', 'vm.shutdown', 'vm.start', 'vm.start']);
    } finally {
      await one.close();
      await two.close();
      await api.close();
      await sim.close();
    }
  }, 30_000);

  it('warns an idle VM’s owner once and stops it once across a lease handover between the warning and the stop', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [
      ...scenario.guests!,
      {
        ...STUDENTS[0]!,
        status: 'running' as const,
        memory: 1024,
        cores: 1,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } },
      },
    ];
    const sim = await startPveSim({ timeScale: 100, scenario });
    const api = new ProxmoxClient({
      clusterId: 'lab1',
      baseUrl: sim.url,
      auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
      tls: { fingerprint: sim.fingerprint },
    });
    const clusters: ClusterApis = { get: () => api, ids: () => ['lab1'] };
    let now = at('2026-12-01T10:00:00Z');
    const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
    const url = await sharedUrl(engine);
    const [one, two] = [await openStore(url), await openStore(url)];
    try {
      sim.state.guests.get(300)!.cpuLoad = 0.01;
      await one.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      const alice = await one.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, now);
      await one.classes.assignVm(
        { clusterId: 'lab1', vmid: 300, personId: alice.id, classId: 'cs101', role: 'student' },
        now,
      );
      await one.usage.savePolicy({
        classId: 'cs101',
        quotaHours: null,
        maxRunning: null,
        maxRunningInClass: null,
        idleCpuBelowPercent: 5,
        idleForMinutes: 30,
        keepsPerSession: 1,
        idleWarnMinutes: 4,
      });
      const messages: string[] = [];
      const notifier = { notifyPerson: async (_p: unknown, text: string) => (messages.push(text), true) };
      const a = new ClassScheduler({
        store: one,
        clusters,
        clock,
        notifier,
        holderId: 'a',
        leaseTtlMs: 60_000,
        pollIntervalMs: 20,
        shutdownTimeoutS: 5,
      });
      const b = new ClassScheduler({
        store: two,
        clusters,
        clock,
        notifier,
        holderId: 'b',
        leaseTtlMs: 60_000,
        pollIntervalMs: 20,
        shutdownTimeoutS: 5,
      });
      const sync = new SyncEngine({ store: one, clusters, clock, probe: { isOpen: async () => false } });
      let alive = [a, b];
      const tick = async (iso: string) => {
        now = at(iso);
        await sync.quickSync();
        return (await Promise.all(alive.map((s) => s.runOnce()))).flat().map((x) => [x.vmid, x.action, x.outcome]);
      };
      expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
      expect(await tick('2026-12-01T10:31:00Z')).toEqual([[300, 'idle-warning', 'ok']]);
      const leader = a.isLeader ? a : b;
      const other = leader === a ? b : a;
      await leader.abandon(); // its process dies holding the lease
      alive = [other];
      expect(await tick('2026-12-01T10:33:00Z'), 'the lease has not expired: nobody acts').toEqual([]);
      expect(await tick('2026-12-01T10:35:00Z'), 'the new holder stops it when the warning’s 4 min are up').toEqual([
        [300, 'idle-shutdown', 'ok'],
      ]);
      expect(other.isLeader).toBe(true);
      expect(await tick('2026-12-01T10:40:00Z')).toEqual([]);
      expect(messages).toEqual([
        'cs101-alice has been idle for 30 min and will stop in 4 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ]);
      expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/shutdown')).toBe(1);
      expect((await two.audit.list({ actor: 'scheduler' })).map((e) => e.action)).toEqual(['vm.shutdown']);
    } finally {
      await one.close();
      await two.close();
      await api.close();
      await sim.close();
    }
  }, 30_000);
});

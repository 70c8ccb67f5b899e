import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClassScheduler, ProxmoxClient, SyncEngine, type Clock, type ClusterApis } from '@lab/proxmox-sdk';
import { presets, startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-schedule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (iso: string) => Date.parse(iso);
const STUDENTS = [{ vmid: 300, node: 'pve1', name: 'cs101-alice' }, { vmid: 301, node: 'pve2', name: 'cs101-bob' }];

describe('class scheduler on one SQLite file', () => {
  it('acts only in the lease holder, and a handover mid-session neither starts nor stops a VM twice', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [...scenario.guests!, ...STUDENTS.map((s) => ({ ...s, status: 'stopped' as const, memory: 1024, cores: 1, disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } } }))];
    const sim = await startPveSim({ timeScale: 100, scenario });
    const api = new ProxmoxClient({ clusterId: 'lab1', baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint } });
    const clusters: ClusterApis = { get: () => api, ids: () => ['lab1'] };
    let now = at('2026-11-30T07:00:00Z');
    const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
    const url = `sqlite:${join(dir, 'lab.db')}`;
    // Two bot processes: two connections to one database file.
    const [one, two] = [await openStore(url), await openStore(url)];
    try {
      await new SyncEngine({ store: one, clusters, clock, probe: { isOpen: async () => false } }).quickSync();
      await one.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      for (const s of STUDENTS) {
        const person = await one.classes.createPerson({ username: s.name.slice(6), displayName: s.name, role: 'student' }, now);
        await one.classes.assignVm({ clusterId: 'lab1', vmid: s.vmid, personId: person.id, classId: 'cs101', role: 'student' }, now);
      }
      await one.schedules.add({ classId: 'cs101', days: 'mon', startTime: '09:00', endTime: '10:30', timezone: 'Europe/Berlin', startBeforeMin: 10, skipDates: [], createdBy: 'lovelace', createdAt: now });
      const a = new ClassScheduler({ store: one, clusters, clock, holderId: 'a', leaseTtlMs: 60_000, pollIntervalMs: 20, shutdownTimeoutS: 5 });
      const b = new ClassScheduler({ store: two, clusters, clock, holderId: 'b', leaseTtlMs: 60_000, pollIntervalMs: 20, shutdownTimeoutS: 5 });
      sim.requests.reset();
      now = at('2026-11-30T07:52:00Z');
      const [byA, byB] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect([...byA, ...byB].map((x) => [x.vmid, x.action, x.outcome]).sort()).toEqual([[300, 'start', 'ok'], [301, 'start', 'ok']]);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      const [leader, other] = a.isLeader ? [a, b] : [b, a];
      await leader.abandon(); // the leader's process dies holding the lease
      now = at('2026-11-30T08:20:00Z'); // its lease has expired: the other takes over mid-session
      expect(await other.runOnce()).toEqual([]);
      expect(other.isLeader).toBe(true);
      now = at('2026-11-30T09:31:00Z');
      expect((await other.runOnce()).map((x) => [x.vmid, x.action, x.outcome]).sort()).toEqual([[300, 'shutdown', 'ok'], [301, 'shutdown', 'ok']]);
      expect(await leader.runOnce()).toEqual([]);
      expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(2);
      expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/shutdown')).toBe(2);
      expect((await two.audit.list({ actor: 'scheduler' })).map((e) => e.action).sort()).toEqual(['vm.shutdown', 'vm.shutdown', 'vm.start', 'vm.start']);
    } finally {
      await one.close();
      await two.close();
      await api.close();
      await sim.close();
    }
  }, 30_000);
});

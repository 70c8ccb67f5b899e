import { describe, expect, it } from 'vitest';
import { ProxmoxClient } from '../client/proxmox-client.js';
import { SyncEngine } from '../inventory/sync-engine.js';
import { VmPower } from '../schedule/vm-power.js';
import type { Clock } from '../ports/clock.js';
import type { PersonNotifier } from '../ports/person-notifier.js';
import { ClassScheduler } from '../schedule/class-scheduler.js';
import { createMemoryStore } from './memory-store.js';
import type { Store } from '../store/store.js';
import type { IdentityPlatform } from '../store/records.js';

/** One platform's direct messages as the shared person-notifier behaviour drives them, over its fake API on loopback. */
export interface PersonNotifierPlatform {
  /** The front end's platform id (`slack`, `discord`, or any registered one). */
  platform: IdentityPlatform;
  /** An account id on the platform, linked to the person who gets the DM. */
  accountId: string;
  /** The notifier under test, over the fake API. */
  notifier(store: Store): PersonNotifier;
  /** The requests the fake API has received (`POST /api/…`), oldest first. */
  requests(): string[];
  /** The requests one DM to `accountId` makes: open the DM channel, then post in it. */
  dmRequests: string[];
  /** What the fake API received as the recipient of the DM channel and as the posted texts. */
  recipients(): string[];
  postedTexts(): string[];
  /** Forgets the requests received so far. */
  clear(): void;
}

const IDLE_WARNING =
  'cs101-alice has been idle for 30 min and will stop in 10 min. Why: below 5% CPU. /myvm keep to keep it running.';

/**
 * The behaviour every front end's `PersonNotifier` shares: a DM to the person's linked account on
 * that platform, false for a person with none there, and the idle warning of the class scheduler
 * reaching a student before their VM stops.
 */
export function describePersonNotifierConformance(name: string, platform: () => PersonNotifierPlatform): void {
  describe(`${name} direct messages`, () => {
    it('open a DM with the person’s account and post the text there; a person without an account there is not reached', async () => {
      const p = platform();
      p.clear();
      const other = p.platform === 'slack' ? 'discord' : 'slack';
      const store = createMemoryStore();
      const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, 1);
      const bob = await store.classes.createPerson({ username: 'bob', displayName: 'Bob', role: 'student' }, 1);
      await store.classes.linkIdentity({ personId: alice.id, platform: p.platform, externalId: p.accountId });
      await store.classes.linkIdentity({ personId: bob.id, platform: other, externalId: 'B0B' });
      const notifier = p.notifier(store);
      expect(await notifier.notifyPerson({ personId: alice.id, username: 'alice' }, IDLE_WARNING)).toBe(true);
      expect(p.requests()).toEqual(p.dmRequests);
      expect(p.recipients()).toEqual([p.accountId]);
      expect(p.postedTexts()).toEqual([IDLE_WARNING]);
      expect(await notifier.notifyPerson({ personId: bob.id, username: 'bob' }, IDLE_WARNING)).toBe(false);
      expect(p.requests()).toHaveLength(p.dmRequests.length);
    });

    it('reach the student of an idle VM with the idle warning, and the VM stops 10 min later', async () => {
      const p = platform();
      const { presets, startPveSim } = await import('@lab/pve-sim');
      const scenario = structuredClone(presets.small!);
      scenario.guests = [
        ...scenario.guests!,
        {
          vmid: 300,
          node: 'pve1',
          name: 'cs101-alice',
          status: 'stopped' as const,
          memory: 1024,
          cores: 1,
          disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } },
        },
      ];
      const sim = await startPveSim({ timeScale: 100, scenario });
      const pve = new ProxmoxClient({
        clusterId: 'lab1',
        baseUrl: sim.url,
        auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
        tls: { fingerprint: sim.fingerprint },
      });
      try {
        let now = Date.parse('2026-12-01T10:00:00Z');
        const clock: Clock = { now: () => now, sleep: () => new Promise((r) => setTimeout(r, 5)) };
        const clusters = { get: () => pve, ids: () => ['lab1'] };
        const store = createMemoryStore();
        const sync = new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } });
        await sync.quickSync();
        await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
        const alice = await store.classes.createPerson(
          { username: 'alice', displayName: 'Alice', role: 'student' },
          now,
        );
        await store.classes.linkIdentity({ personId: alice.id, platform: p.platform, externalId: p.accountId });
        await store.classes.assignVm(
          { clusterId: 'lab1', vmid: 300, personId: alice.id, classId: 'cs101', role: 'student' },
          now,
        );
        await store.usage.savePolicy({
          classId: 'cs101',
          quotaHours: null,
          maxRunning: null,
          maxRunningInClass: null,
          idleCpuBelowPercent: 5,
          idleForMinutes: 30,
          keepsPerSession: 1,
          idleWarnMinutes: null,
        });
        await new VmPower({ store, clusters, clock, pollIntervalMs: 20 }).perform(
          { personId: null, username: 'root', role: 'admin' },
          'lab1',
          300,
          'start',
        );
        sim.state.guests.get(300)!.cpuLoad = 0.01;
        const scheduler = new ClassScheduler({
          store,
          clusters,
          clock,
          notifier: p.notifier(store),
          pollIntervalMs: 20,
          shutdownTimeoutS: 5,
        });
        p.clear();
        const tick = async (iso: string) => {
          now = Date.parse(iso);
          await sync.quickSync();
          return (await scheduler.runOnce()).map((a) => a.action);
        };
        expect(await tick('2026-12-01T10:01:00Z')).toEqual([]);
        expect(await tick('2026-12-01T10:31:00Z')).toEqual(['idle-warning']);
        expect(p.postedTexts()).toEqual([IDLE_WARNING]);
        expect(await tick('2026-12-01T10:41:00Z')).toEqual(['idle-shutdown']);
        expect(await store.inventory.get('lab1', 300)).toMatchObject({ status: 'stopped' });
      } finally {
        await pve.close();
        await sim.close();
      }
    }, 30_000);
  });
}

import { describe, expect, it } from 'vitest';
import { presets } from '@lab/pve-sim';
import { SyncEngine, type Clock } from '../src/index.js';
import { createMemoryStore } from '../src/testing/memory-store.js';
import { termVms } from '../src/schedule/class-term.js';
import { destroyTermVm } from '../src/schedule/term-destroy.js';
import { silentLogger } from '../src/ports/logger.js';
import { clientFor, fastSim } from './helpers.js';

const DELETE = 'DELETE /nodes/{node}/qemu/{vmid}';

describe('an end-of-term destroy a dead process had claimed as sent', () => {
  it('is asked of PVE again only after the VM stayed there unlocked for a minute, with no second sent entry', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [
      ...scenario.guests!,
      {
        vmid: 410,
        node: 'pve1',
        name: 'cs101-alice',
        status: 'stopped' as const,
        memory: 512,
        cores: 1,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } },
      },
    ];
    const sim = await fastSim({ scenario });
    const api = clientFor(sim);
    const clusters = { get: () => api, ids: () => ['lab1'] };
    let now = Date.parse('2027-08-01T10:00:00Z');
    const clock: Clock = { now: () => now, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))) };
    const store = createMemoryStore();
    try {
      await new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } }).quickSync();
      await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      await store.classes.assignVm(
        { clusterId: 'lab1', vmid: 410, personId: null, classId: 'cs101', role: 'student' },
        now,
      );
      // The dead process recorded its claim and the `sent` entry; its DELETE never reached PVE.
      await store.nonces.put(
        'term-destroy:cs101:lab1/410',
        { holder: 'dead', state: 'sending' },
        now + 86_400_000,
        now,
      );
      await store.audit.record({
        at: now,
        actor: 'scheduler',
        action: 'vm.destroy',
        target: 'lab1/410',
        outcome: 'sent',
        details: {},
      });
      const [vm] = await termVms(store, 'cs101');
      const deps = { store, clusters, clock, logger: silentLogger, holderId: 'survivor', pollIntervalMs: 20 };
      sim.requests.reset();
      expect(await destroyTermVm(deps, 'cs101', vm!, 'end of term')).toBe('in-progress');
      now += 30_000;
      expect(await destroyTermVm(deps, 'cs101', vm!, 'end of term')).toBe('in-progress');
      expect(sim.requests.count(DELETE)).toBe(0);
      now += 31_000;
      expect(await destroyTermVm(deps, 'cs101', vm!, 'end of term')).toBe('destroyed');
      expect(sim.requests.count(DELETE)).toBe(1);
      expect(sim.state.guests.has(410)).toBe(false);
      expect(await destroyTermVm(deps, 'cs101', vm!, 'end of term')).toBe('already');
      const audit = await store.audit.list({ action: 'vm.destroy' });
      expect(audit.map((a) => a.outcome).sort()).toEqual(['ok', 'sent']);
      expect(await store.classes.assignment('lab1', 410)).toBeUndefined();
      expect((await store.inventory.get('lab1', 410))?.goneAt).not.toBeNull();
    } finally {
      await api.close();
      await sim.close();
    }
  });
});

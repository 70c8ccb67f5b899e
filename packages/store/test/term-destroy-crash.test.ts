import { describe, expect, it } from 'vitest';
import { ClassScheduler, SyncEngine } from '@lab/proxmox-sdk';
import { startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';
import { connectTo, seedClassOfVms, smallWithClassVms, spawnChild } from './fixtures/crash-lab.js';

const { engines, sharedUrl } = await sharedStores('end-of-term crash');

const DELETE = 'DELETE /nodes/{node}/qemu/{vmid}';
const VMIDS = [400, 401, 402, 403, 404, 405];

describe.each(engines)('the end-of-term destroy of a leader SIGKILLed mid-destroy on %s', (engine) => {
  it('is sent once and audited once per VM, and the next leader finishes it', async () => {
    const scenario = smallWithClassVms(VMIDS);
    // Real-time destroys (2 s each, one at a time): the class's six take about 12 s.
    const sim = await startPveSim({ timeScale: 1, scenario });
    const { api, clusters } = connectTo(sim, 'lab1');
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const now = Date.now();
      await new SyncEngine({ store, clusters, probe: { isOpen: async () => false } }).quickSync();
      await seedClassOfVms(store, 'lab1', VMIDS, now);
      // The class ended long ago, its grace period is over and a teacher confirmed the destroy.
      await store.classTerms.save({
        classId: 'cs101',
        endsOn: '2026-01-30',
        timezone: 'Europe/Berlin',
        graceDays: 14,
        destroyConfirmedBy: 'lovelace',
        destroyConfirmedAt: now,
        archivedAt: null,
      });
      sim.requests.reset();
      const crash = spawnChild('term-destroy-child.mjs', sim, [url]);
      const { child, exited } = crash;
      // Kill it while its second destroy is in flight.
      for (let i = 0; i < 800 && sim.requests.count(DELETE) < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sim.requests.count(DELETE), crash.stderr).toBe(2);
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
      const sent = await store.audit.list({ actor: 'scheduler', action: 'vm.destroy' });
      expect(sent.filter((a) => a.outcome === 'sent')).toHaveLength(2);

      // The next leader takes over once the dead one's lease expires, and finishes the destroy.
      const survivor = new ClassScheduler({
        store,
        clusters,
        holderId: 'survivor',
        leaseTtlMs: 1000,
        pollIntervalMs: 50,
      });
      for (let i = 0; i < 300 && (await store.classes.assignmentsOfClass('cs101')).length > 0; i++) {
        await survivor.runOnce();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(survivor.isLeader).toBe(true);
      expect(await store.classes.assignmentsOfClass('cs101')).toEqual([]);
      for (const vmid of VMIDS) expect(sim.state.guests.has(vmid), `VM ${vmid}`).toBe(false);
      // Each VM was destroyed by one request: none twice.
      const destroyTasks = [...sim.state.tasks.tasks.values()].filter((t) => t.type === 'qmdestroy');
      expect(destroyTasks.map((t) => Number(t.id)).sort()).toEqual(VMIDS);
      expect(sim.requests.count(DELETE)).toBe(VMIDS.length);
      const audit = await store.audit.list({ actor: 'scheduler', action: 'vm.destroy' });
      const ok = audit.filter((a) => a.outcome === 'ok');
      expect(ok.map((a) => a.target).sort()).toEqual(VMIDS.map((v) => `lab1/${v}`));
      expect(
        audit
          .filter((a) => a.outcome === 'sent')
          .map((a) => a.target)
          .sort(),
      ).toEqual(VMIDS.map((v) => `lab1/${v}`));
      // The VM the dead leader had sent is recorded by the survivor, from the cluster.
      expect(ok.filter((a) => a.details.reconciled !== undefined)).toHaveLength(1);
      expect(ok.every((a) => String(a.details.reason).startsWith('end of term'))).toBe(true);
      const goneRows = await Promise.all(VMIDS.map((v) => store.inventory.get('lab1', v)));
      expect(goneRows.every((r) => r?.goneAt !== null)).toBe(true);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 120_000);
});

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassScheduler, ProxmoxClient, SyncEngine } from '@lab/proxmox-sdk';
import { presets, startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const { engines, sharedUrl } = await sharedStores('end-of-term crash');

const DELETE = 'DELETE /nodes/{node}/qemu/{vmid}';
const VMIDS = [400, 401, 402, 403, 404, 405];

describe.each(engines)('the end-of-term destroy of a leader SIGKILLed mid-destroy on %s', (engine) => {
  it('is sent once and audited once per VM, and the next leader finishes it', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.guests = [
      ...scenario.guests!,
      ...VMIDS.map((vmid) => ({
        vmid,
        node: 'pve1',
        name: `cs101-s${vmid}`,
        status: 'stopped' as const,
        memory: 512,
        cores: 1,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 8 } },
      })),
    ];
    // Real-time destroys (2 s each, one at a time): the class's six take about 12 s.
    const sim = await startPveSim({ timeScale: 1, scenario });
    const api = new ProxmoxClient({
      clusterId: 'lab1',
      baseUrl: sim.url,
      auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
      tls: { fingerprint: sim.fingerprint },
    });
    const clusters = { get: () => api, ids: () => ['lab1'] };
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const now = Date.now();
      await new SyncEngine({ store, clusters, probe: { isOpen: async () => false } }).quickSync();
      await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      for (const vmid of VMIDS) {
        const p = await store.classes.createPerson(
          { username: `s${vmid}`, displayName: `S ${vmid}`, role: 'student' },
          now,
        );
        await store.classes.assignVm(
          { clusterId: 'lab1', vmid, personId: p.id, classId: 'cs101', role: 'student' },
          now,
        );
      }
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
      const child = spawn(
        process.execPath,
        [
          join(fixtures, 'term-destroy-child.mjs'),
          JSON.stringify({
            url: sim.url,
            tokenId: sim.tokenId,
            tokenSecret: sim.tokenSecret,
            fingerprint: sim.fingerprint,
          }),
          url,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // Kill it while its second destroy is in flight.
      for (let i = 0; i < 800 && sim.requests.count(DELETE) < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sim.requests.count(DELETE), stderr).toBe(2);
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

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassScheduler, ProxmoxClient, SyncEngine, type Clock } from '@lab/proxmox-sdk';
import { pveResources } from '@lab/proxmox-sdk/pve';
import { presets, startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const { engines, sharedUrl } = await sharedStores('scheduler crash');

const START = 'POST /nodes/{node}/qemu/{vmid}/status/start';
const VMIDS = [300, 301, 302, 303, 304, 305, 306, 307];

// PVE 8 (one start request per VM): the crash lands between requests the lab sends itself. On
// PVE 9 a session's starts are one bulk request that PVE paces on its side.
describe.each(engines)(
  'scheduled starts of a leader SIGKILLed mid-round on %s, one request per VM (PVE 8)',
  (engine) => {
    it('leave an audit entry for every start that went out, and the next leader records each outcome once', async () => {
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
      // Real-time starts (2 s each, two at a time per node): a round of eight takes about 8 s.
      const sim = await startPveSim({ timeScale: 1, scenario, pveVersion: '8.4.1' });
      const api = new ProxmoxClient({
        clusterId: 'lab1',
        baseUrl: sim.url,
        auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
        tls: { fingerprint: sim.fingerprint },
      });
      const clusters = { get: () => api, ids: () => ['lab1'] };
      // Monday 07:52 UTC, inside the warm-up of the 09:00 Berlin session.
      const offset = Date.parse('2026-11-30T07:52:00Z') - Date.now();
      const clock: Clock = {
        now: () => Date.now() + offset,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      };
      const url = await sharedUrl(engine);
      const store = await openStore(url);
      try {
        const now = clock.now();
        await new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } }).quickSync();
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
        await store.schedules.add({
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
        sim.requests.reset();
        const child = spawn(
          process.execPath,
          [
            join(fixtures, 'scheduler-child.mjs'),
            JSON.stringify({
              url: sim.url,
              tokenId: sim.tokenId,
              tokenSecret: sim.tokenSecret,
              fingerprint: sim.fingerprint,
            }),
            url,
            String(offset),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += c));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        // Kill it once its second pair of starts is in flight.
        for (let i = 0; i < 600 && sim.requests.count(START) < 3; i++) await new Promise((r) => setTimeout(r, 25));
        expect(sim.requests.count(START), stderr).toBeGreaterThanOrEqual(3);
        child.kill('SIGKILL');
        expect(await exited).toBeNull();
        const sent = sim.requests.count(START);
        expect(sent).toBeLessThan(VMIDS.length);
        // Let the starts PVE took finish: those VMs run.
        await new Promise((r) => setTimeout(r, 3_000));
        const running = (await pveResources(api).cluster.vms()).filter(
          (r) => VMIDS.includes(r.vmid) && r.status === 'running',
        );
        expect(running.length).toBeGreaterThanOrEqual(3);
        const audited = await store.audit.list({ actor: 'scheduler', action: 'vm.start' });
        for (const vm of running)
          expect(
            audited.some((a) => a.target === `lab1/${vm.vmid}`),
            `VM ${vm.vmid} runs with no audit entry`,
          ).toBe(true);

        // The next leader takes over once the dead one's lease expires, and records every outcome.
        const survivor = new ClassScheduler({
          store,
          clusters,
          clock,
          holderId: 'survivor',
          leaseTtlMs: 1000,
          pollIntervalMs: 50,
        });
        await survivor.runOnce();
        for (let i = 0; i < 100 && !survivor.isLeader; i++) {
          await new Promise((r) => setTimeout(r, 100));
          await survivor.runOnce();
        }
        expect(survivor.isLeader).toBe(true);
        const live = await pveResources(api).cluster.vms();
        for (const vmid of VMIDS) expect(live.find((r) => r.vmid === vmid)?.status, `VM ${vmid}`).toBe('running');
        expect(sim.requests.count(START)).toBe(VMIDS.length); // none started twice
        const ok = (await store.audit.list({ actor: 'scheduler', action: 'vm.start' })).filter(
          (a) => a.outcome === 'ok',
        );
        expect(ok.map((a) => a.target).sort()).toEqual(VMIDS.map((v) => `lab1/${v}`));
        expect(ok.filter((a) => a.details.reconciled !== undefined).length).toBeGreaterThan(0);
      } finally {
        await store.close();
        await api.close();
        await sim.close();
      }
    }, 90_000);
  },
);

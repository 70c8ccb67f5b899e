import { describe, expect, it } from 'vitest';
import { DeploymentEngine, TemplateCatalog } from '@lab/proxmox-sdk';
import { ClassNetworks, net0Bridge } from '@lab/proxmox-sdk/network';
import { pveResources } from '@lab/proxmox-sdk/pve';
import { startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';
import { connectTo, seedClassOfStudents, spawnChild } from './fixtures/crash-lab.js';

const { engines, sharedUrl } = await sharedStores('class networks crash');
const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const SPEC = { classId: 'cs101', mode: 'student' as const, students: STUDENTS, internet: 'snat' as const };

/** When the child is killed: mid-way through creating the VNets, right after it sent the apply, or during the clones. */
const PHASES = ['network', 'apply', 'clones'] as const;

describe.each(engines)('class networks whose process is SIGKILLed on %s', (engine) => {
  it.each(PHASES)(
    'during the %s step are finished by the next process: nothing twice, nothing pending',
    async (phase) => {
      const sim = await startPveSim({ timeScale: 40, pveVersion: '9.1.3' });
      const url = await sharedUrl(engine);
      const store = await openStore(url);
      const { api, clusters } = connectTo(sim, 'lab');
      const catalog = new TemplateCatalog({ store, clusters });
      try {
        await seedClassOfStudents(store, catalog, STUDENTS);
        sim.requests.reset();
        const crash = spawnChild('networks-child.mjs', sim, [url, JSON.stringify(STUDENTS)]);
        const { child, exited } = crash;
        let registered = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n').filter(Boolean))
            if ((JSON.parse(line) as { type: string }).type === 'registered') registered++;
        });
        const due = () =>
          phase === 'network'
            ? sim.requests.count('POST /cluster/sdn/vnets') >= 3
            : phase === 'apply'
              ? sim.requests.count('PUT /cluster/sdn') >= 1
              : registered >= 2;
        for (let i = 0; i < 1200 && !due() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
        expect(due(), crash.stderr).toBe(true);
        child.kill('SIGKILL');
        expect(await exited).toBeNull();
        const left = await store.sdn.list('lab');
        if (phase === 'network') expect(left.some((r) => r.state === 'planned' || r.state === 'created')).toBe(true);

        // The next process: the same ensure (it waits out the dead holder's lease), then the deploy.
        const networks = new ClassNetworks({
          store,
          api,
          settings: { prefix: 'lab' },
          holderId: 'survivor',
          leaseTtlMs: 1000,
          pollIntervalMs: 20,
        });
        const state = await networks.ensure(SPEC);
        const engineAfter = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20, leaseTtlMs: 1000 });
        if (phase === 'clones') {
          let [summary] = await engineAfter.resume();
          while (!summary) {
            await new Promise((r) => setTimeout(r, 200));
            [summary] = await engineAfter.resume();
          }
          expect(summary).toMatchObject({ status: 'done', failed: [] });
        } else {
          expect(
            await engineAfter.deploy({ classId: 'cs101', count: STUDENTS.length, template: 'ubuntu' }),
          ).toMatchObject({
            status: 'done',
          });
        }

        // Nothing created twice: one zone, five VNets, five subnets, each sent once.
        expect(sim.requests.count('POST /cluster/sdn/zones')).toBe(1);
        expect(sim.requests.count('POST /cluster/sdn/vnets')).toBe(5);
        expect(sim.requests.count('POST /cluster/sdn/vnets/{vnet}/subnets')).toBe(5);
        // Applied once, or, when the child was killed after its apply had started, once more by the
        // survivor (PVE commits the pending configuration as the apply starts, so the survivor cannot
        // tell whether the nodes' reload finished).
        if (phase === 'apply') expect(sim.requests.count('PUT /cluster/sdn')).toBeLessThanOrEqual(2);
        else expect(sim.requests.count('PUT /cluster/sdn')).toBe(1);
        // Nothing pending, every record applied.
        const pending = await pveResources(api).sdn.pending();
        expect([...pending.zones, ...pending.vnets, ...pending.subnets]).toEqual([]);
        const records = await store.sdn.list('lab');
        expect(records.map((r) => r.state)).toEqual(Array(6).fill('applied'));
        expect(state.networks.map((n) => n.student).sort()).toEqual(STUDENTS);
        const running = await pveResources(api).sdn.vnets({ running: true });
        expect(running.map((v) => v.vnet).sort()).toEqual(state.networks.map((n) => n.vnet).sort());

        // Each student has one VM, on that student's VNet and no other's.
        const vnetOf = new Map(state.networks.map((n) => [n.student, n.vnet]));
        for (const student of STUDENTS) {
          const vms = [...sim.state.guests.values()].filter((g) => g.config.name === `cs101-${student}`);
          expect(vms, student).toHaveLength(1);
          expect(net0Bridge(vms[0]!.config.net0), student).toBe(vnetOf.get(student));
        }
        expect(new Set(vnetOf.values()).size).toBe(5);
        expect(sim.requests.schemaViolations).toEqual([]);
      } finally {
        await store.close();
        await api.close();
        await sim.close();
      }
    },
    90_000,
  );
});

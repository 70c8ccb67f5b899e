import { describe, expect, it } from 'vitest';
import { DeploymentEngine, TemplateCatalog } from '@lab/proxmox-sdk';
import { startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';
import { connectTo, seedClassOfStudents, spawnChild } from './fixtures/crash-lab.js';

const { engines, sharedUrl } = await sharedStores('spread copies crash');
const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const CLONE = 'POST /nodes/{node}/qemu/{vmid}/clone';
const MIGRATE = 'POST /nodes/{node}/qemu/{vmid}/migrate';

describe.each(engines)('a spread deployment whose process is SIGKILLed during the base copies on %s', (engine) => {
  it('is taken over: every student once on its planned node, each copy made once, nothing half-made or locked', async () => {
    // Five nodes on local lvm-thin, the template on pve1 only: ten students spread over them, so
    // the base is copied to the other nodes (a linked clone beside it, migrated offline).
    const sim = await startPveSim({ scenario: 'school', timeScale: 40 });
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    const { api, clusters } = connectTo(sim, 'lab');
    const catalog = new TemplateCatalog({ store, clusters });
    try {
      await seedClassOfStudents(store, catalog, STUDENTS);
      sim.requests.reset();
      const crash = spawnChild('deploy-child.mjs', sim, [url, String(STUDENTS.length), 'spread']);
      // Killed once the first copy is migrating: the other copies are being cloned or migrated.
      const due = () => sim.requests.count(MIGRATE) >= 1;
      for (let i = 0; i < 3000 && !due() && crash.child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(due(), crash.stderr).toBe(true);
      crash.child.kill('SIGKILL');
      expect(await crash.exited).toBeNull();

      const [deployment] = await store.deployments.unfinished();
      expect(deployment).toBeDefined();
      const planned = await store.deployments.items(deployment!.id);
      const copies = planned.filter((i) => i.kind === 'replica');
      expect(copies.length).toBeGreaterThan(1);
      expect(copies.some((c) => c.status !== 'done')).toBe(true);
      const plannedNode = new Map(planned.map((i) => [i.name, i.node]));

      // The next process: it waits out the dead holder's lease, then finishes the deployment.
      const survivor = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20, leaseTtlMs: 1000 });
      let [summary] = await survivor.resume();
      while (!summary) {
        await new Promise((r) => setTimeout(r, 200));
        [summary] = await survivor.resume();
      }
      expect(summary).toMatchObject({ status: 'done', failed: [], orphans: [], unregistered: [], duplicates: [] });
      expect(await store.deployments.unfinished()).toEqual([]);
      expect(await store.sync.liveLeases('deployment:', Date.now())).toEqual([]);

      const guests = [...sim.state.guests.values()];
      // Every student: exactly one VM, on the node the plan gave it.
      for (const student of STUDENTS) {
        const vms = guests.filter((g) => g.config.name === `cs101-${student}`);
        expect(vms, student).toHaveLength(1);
        expect(vms[0]!.node, student).toBe(plannedNode.get(`cs101-${student}`));
      }
      // Each copy made once: one clone per VM (teacher, base, copies, students), one migration per copy.
      expect(sim.requests.count(CLONE)).toBe(2 + copies.length + STUDENTS.length);
      expect(sim.requests.count(MIGRATE)).toBe(copies.length);
      // No half-made copy: the base and one converted copy on each node the plan copied it to.
      const bases = guests.filter((g) => g.config.name === 'cs101-base');
      expect(bases.map((b) => b.node).sort()).toEqual(
        [plannedNode.get('cs101-base'), ...copies.map((c) => c.node)].sort(),
      );
      for (const b of bases) expect(b.config.template, `base on ${b.node}`).toBe('1');
      // Nothing locked, every VM of the class registered.
      const classVms = guests.filter((g) => (g.config.name ?? '').startsWith('cs101-'));
      expect(classVms).toHaveLength(2 + copies.length + STUDENTS.length);
      for (const vm of [...guests]) expect(vm.config.lock, `${vm.config.name} (${vm.vmid})`).toBeUndefined();
      for (const vm of classVms)
        expect(await store.classes.assignment('lab', vm.vmid), `${vm.config.name} is registered`).toMatchObject({
          classId: 'cs101',
        });
      expect(sim.requests.schemaViolations).toEqual([]);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 120_000);
});

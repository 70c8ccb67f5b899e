import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeploymentEngine, TemplateCatalog } from '@lab/proxmox-sdk';
import { startPveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { connectTo, seedClassOfStudents, spawnChild } from './fixtures/crash-lab.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a deployment whose process is killed half-way', () => {
  it('is finished by resume(): every VM exactly once, all registered, none orphaned', async () => {
    const sim = await startPveSim({ timeScale: 40, cloneRaceRate: 0.1 });
    const storeUrl = `sqlite:${join(dir, 'lab.db')}`;
    const store = await openStore(storeUrl);
    const { api, clusters } = connectTo(sim, 'lab');
    const catalog = new TemplateCatalog({ store, clusters });
    try {
      await seedClassOfStudents(store, catalog, ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);

      const crash = spawnChild('deploy-child.mjs', sim, [storeUrl, '10']);
      const { child } = crash;
      let registered = 0;
      const killed = new Promise<void>((resolveKill, reject) => {
        let buffer = '';
        child.stdout.on('data', (chunk) => {
          buffer += chunk;
          for (const line of buffer.split('\n').slice(0, -1)) if (JSON.parse(line).type === 'registered') registered++;
          buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
          if (registered >= 5 && !child.killed) {
            child.kill('SIGKILL');
            resolveKill();
          }
        });
        child.on('exit', (code) =>
          child.killed
            ? resolveKill()
            : reject(new Error(`child ended before it was killed (${code}): ${crash.stderr}`)),
        );
      });
      await killed;
      const deployments = await store.deployments.unfinished();
      expect(deployments).toHaveLength(1);
      const unfinishedItems = (await store.deployments.items(deployments[0]!.id)).filter((i) => i.status !== 'done');
      expect(unfinishedItems.length).toBeGreaterThan(0);

      // The dead process's lease expires after a second; until then a new owner must wait.
      const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 20 });
      let [summary] = await engine.resume();
      while (!summary) {
        await new Promise((r) => setTimeout(r, 200));
        [summary] = await engine.resume();
      }
      expect(summary).toMatchObject({ status: 'done', failed: [] });
      expect(await store.deployments.unfinished()).toEqual([]);

      const classVms = [...sim.state.guests.values()].filter(
        (g) => (g.config.name ?? '').startsWith('cs101-') || g.config.lock === 'clone',
      );
      const names = classVms.map((g) => g.config.name).sort();
      expect(names).toEqual([
        'cs101-alice',
        'cs101-base',
        'cs101-bob',
        'cs101-carol',
        'cs101-dave',
        'cs101-erin',
        'cs101-frank',
        'cs101-seat-01',
        'cs101-seat-02',
        'cs101-seat-03',
        'cs101-seat-04',
        'cs101-teacher',
      ]);
      for (const vm of classVms) {
        expect(vm.config.lock, vm.config.name).toBeUndefined();
        const assignment = await store.classes.assignment('lab', vm.vmid);
        expect(assignment, `${vm.config.name} is registered`).toMatchObject({ classId: 'cs101' });
        expect((await store.inventory.get('lab', vm.vmid))?.name).toBe(vm.config.name);
      }
      expect(await store.classes.assignmentsOfClass('cs101')).toHaveLength(12);
    } finally {
      await store.close();
      await api.close();
      await sim.close();
    }
  }, 60_000);
});

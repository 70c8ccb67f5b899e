import { startPveSim } from '@lab/pve-sim';
import { describe, expect, it } from 'vitest';
import { setLabDefinition } from '../src/deploy/lab-definition.js';
import { ClassNetworks, net0Bridge } from '../src/network/index.js';
import { pveResources } from '../src/pve/index.js';
import { DeploymentEngine } from '../src/deploy/deployment-engine.js';
import { labOver } from './deployment-fixture.js';

const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];

describe('a class of 5 students with two roles each and per-student networks', () => {
  it('gets 10 VMs and 5 VNets, each student’s two VMs on that student’s VNet only; destroy removes all of it', async () => {
    const sim = await startPveSim({ timeScale: 200, pveVersion: '9.1.3' });
    const lab = await labOver(sim, { students: STUDENTS });
    try {
      await lab.catalog.create({
        name: 'kali',
        memory: 2048,
        cores: 2,
        mappings: [
          { clusterId: 'lab', node: 'pve1', vmid: 9000 },
          { clusterId: 'lab', node: 'pve2', vmid: 9100 },
        ],
      });
      await lab.catalog.create({
        name: 'metaspl',
        memory: 4096,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
      });
      await setLabDefinition(
        { store: lab.store, catalog: lab.catalog, clock: { now: () => Date.now() } as never },
        {
          classId: 'cs101',
          roles: [
            { name: 'attacker', template: 'kali' },
            { name: 'target', template: 'metaspl' },
          ],
          network: { mode: 'student', internet: 'snat' },
          actor: 'teacher',
        },
      );
      // The engine builds the networks the definition asks for before the VMs (deployLab), with the cluster's ClassNetworks.
      const def = (await lab.store.labDefinitions.get('cs101'))!;
      expect(def.network.mode).toBe('student');
      const networks = new ClassNetworks({ store: lab.store, api: lab.api, settings: { prefix: 'lab' } });
      const bare = lab.engine;
      await expect(bare.deployLab({ classId: 'cs101', count: 5, requestedBy: 'teacher' })).rejects.toMatchObject({
        code: 'LAB_SDN_NOT_CONFIGURED',
      });
      const engine = new DeploymentEngine({
        store: lab.store,
        clusters: lab.clusters,
        catalog: lab.catalog,
        pollIntervalMs: 20,
        timeScale: 200,
        networks: (clusterId) => (clusterId === 'lab' ? networks : undefined),
      });
      const summaries = await engine.deployLab({ classId: 'cs101', count: 5, requestedBy: 'teacher' });
      expect(summaries.map((s) => s.status)).toEqual(['done', 'done']);
      // One per student and one for the teacher VMs (cs101-attacker-teacher, cs101-target-teacher).
      const state = { networks: (await networks.networks('cs101')).filter((n) => !n.teachers) };
      expect(state.networks).toHaveLength(5);
      const again = await engine.ensureLabNetworks('cs101', 'lab');
      expect(again?.summary).toBe(
        '6 private networks (one per seated student, one for the teacher VMs) in zone labzone, with internet (SNAT)',
      );

      const students = [...sim.state.guests.values()].filter((g) => (g.config.tags ?? '').includes('role-student'));
      expect(students).toHaveLength(10);
      const vnetOf = new Map(state.networks.map((n) => [n.student, n.vnet]));
      expect(new Set(vnetOf.values()).size).toBe(5);
      for (const u of STUDENTS) {
        const mine = students.filter((g) => g.config.name!.startsWith(`cs101-${u}-`));
        expect(mine, u).toHaveLength(2);
        for (const g of mine) expect(net0Bridge(g.config.net0), g.config.name).toBe(vnetOf.get(u));
      }
      expect(await pveResources(lab.api).sdn.pending()).toEqual({ zones: [], vnets: [], subnets: [] });

      // Destroy: the VMs, then the networks (destroyClass).
      const down = await engine.destroyClass('cs101', { actor: 'teacher' });
      expect([...sim.state.guests.values()].filter((g) => (g.config.tags ?? '').includes('role-student'))).toEqual([]);
      expect(down.networksRemoved).toHaveLength(7);
      expect(down.networksLeft).toEqual([]);
      expect(await pveResources(lab.api).sdn.vnets({ pending: true })).toEqual([]);
      expect(await lab.store.sdn.list('lab')).toEqual([]);
    } finally {
      await lab.api.close();
      await sim.close();
    }
  }, 120_000);
});

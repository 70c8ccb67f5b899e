import type { PveSim } from '@lab/pve-sim';
import { DeploymentEngine, TemplateCatalog, type ClusterApis, type ProxmoxClient, type Store } from '../src/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor } from './helpers.js';

/** A lab over `sim`: a store with teacher + students enrolled in cs101, the ubuntu template, an engine. */
export async function labOver(
  sim: PveSim,
  options: { students?: string[]; store?: Store } = {},
): Promise<{
  api: ProxmoxClient;
  store: Store;
  catalog: TemplateCatalog;
  engine: DeploymentEngine;
  clusters: ClusterApis;
}> {
  const api = clientFor(sim);
  const store = options.store ?? createMemoryStore();
  const clusters: ClusterApis = { get: () => api, ids: () => ['lab'] };
  const catalog = new TemplateCatalog({ store, clusters });
  if (!(await store.templates.getByName('ubuntu'))) {
    await catalog.create({
      name: 'ubuntu',
      memory: 2048,
      cores: 2,
      mappings: [
        { clusterId: 'lab', node: 'pve1', vmid: 9000 },
        { clusterId: 'lab', node: 'pve2', vmid: 9100 },
      ],
    });
    const teacher = await store.classes.createPerson({ username: 'teacher', displayName: 'Ms T', role: 'teacher' }, 1);
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: teacher.id }, 1);
    for (const username of options.students ?? ['alice', 'bob', 'carol']) {
      const p = await store.classes.createPerson({ username, displayName: username, role: 'student' }, 1);
      await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
    }
  }
  const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 25, timeScale: sim.time.timeScale });
  return { api, store, catalog, engine, clusters };
}

/** Names of the class's guests on the simulated cluster. */
export function classVmNames(sim: PveSim, classId = 'cs101'): string[] {
  return [...sim.state.guests.values()]
    .filter((g) => (g.config.name ?? '').startsWith(`${classId}-`))
    .map((g) => g.config.name!)
    .sort();
}

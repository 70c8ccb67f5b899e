#!/usr/bin/env node
// Deploys a 30-student class on the simulator (loopback HTTPS) with 10 % transient faults on clone
// POSTs (half 503s PVE never acted on, half resets after it did) and prints how many clone requests
// were sent, how many failed and how many VMs exist. Needs `npm run build` first.
//   node packages/sdk/scripts/clone-fault-figures.mjs [runs]
import { DeploymentEngine, ProxmoxClient, TemplateCatalog, createMemoryStore } from '@lab/proxmox-sdk';
import { startPveSim } from '@lab/pve-sim';

const CLONE_PATH = '/nodes/{node}/qemu/{vmid}/clone';
const runs = Number(process.argv[2] ?? 3);

for (let run = 1; run <= runs; run++) {
  const sim = await startPveSim({ timeScale: 400, cloneRaceRate: 0 });
  const api = new ProxmoxClient({
    clusterId: 'lab',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
  });
  try {
    const store = createMemoryStore();
    const clusters = { get: () => api, ids: () => ['lab'] };
    const catalog = new TemplateCatalog({ store, clusters });
    await catalog.create({
      name: 'ubuntu',
      memory: 2048,
      cores: 2,
      mappings: [
        { clusterId: 'lab', node: 'pve1', vmid: 9000 },
        { clusterId: 'lab', node: 'pve2', vmid: 9100 },
      ],
    });
    const teacher = await store.classes.createPerson({ username: 'teacher', displayName: 'T', role: 'teacher' }, 1);
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: teacher.id }, 1);
    for (let i = 1; i <= 30; i++) {
      const p = await store.classes.createPerson(
        { username: `student${String(i).padStart(2, '0')}`, displayName: `S${i}`, role: 'student' },
        1,
      );
      await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
    }
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'http-503', rate: 0.05 });
    sim.faults.add({ method: 'POST', path: CLONE_PATH, kind: 'reset-after', rate: 0.05 });
    sim.requests.reset();
    const engine = new DeploymentEngine({ store, clusters, catalog, pollIntervalMs: 25, cloneLostAnswerGraceMs: 500 });
    const summary = await engine.deploy({ classId: 'cs101', count: 30, template: 'ubuntu', requestedBy: 'teacher' });
    const [refused, lost] = sim.faults.list().map((r) => r.hits);
    const sent = sim.requests.count(`POST ${CLONE_PATH}`);
    const vms = [...sim.state.guests.values()].filter((g) => (g.config.name ?? '').startsWith('cs101-'));
    console.log(
      `run ${run}: status=${summary.status} created=${summary.created} cloneVMs=${vms.length} distinctNames=${new Set(vms.map((g) => g.config.name)).size} ` +
        `clonePOSTs=${sent} failedPOSTs=${refused + lost} (503=${refused}, reset-after=${lost}) retries=${sent - summary.created} allRequests=${sim.requests.total}`,
    );
  } finally {
    await api.close();
    await sim.close();
  }
}

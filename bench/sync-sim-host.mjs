// The simulated clusters of `npm run bench -- sync`, in their own process, so that the resident
// memory the bench reports is the syncing process's alone. Driven over IPC by sync.bench.mjs:
// `start` → the clusters' addresses and credentials; `change` → 1 % of the VMs change;
// `requests` / `reset` → the simulators' request counters; `naive` → what the seeds' walk would send.
import { startPveSim, presets } from '@lab/pve-sim';

const sims = [];

const handlers = {
  async start({ clusters, perCluster }) {
    for (let i = 0; i < clusters; i++) {
      const scenario = structuredClone(presets.large);
      scenario.cluster = `lab${i + 1}`;
      scenario.guests = [];
      // 1,250 VMs per node, half of them running: nodes with room to start a few more.
      scenario.nodes = scenario.nodes.map((n) => ({ ...n, memoryGiB: 4096 }));
      scenario.generate = { ...scenario.generate, count: perCluster, vmidStart: 10_000, runningFraction: 0.5 };
      sims.push(await startPveSim({ scenario, timeScale: 200, seed: i + 1 }));
    }
    return sims.map((s) => ({
      url: s.url,
      tokenId: s.tokenId,
      tokenSecret: s.tokenSecret,
      fingerprint: s.fingerprint,
    }));
  },
  // Per cluster 10 VMs started, 10 stopped, 5 created, 4 deleted and 4 retagged.
  async change() {
    let changed = 0;
    for (const sim of sims) {
      const guests = [...sim.state.guests.values()].filter((g) => g.config.template !== '1');
      const stopped = guests.filter((g) => g.status === 'stopped');
      const up = guests.filter((g) => g.status === 'running');
      const tasks = [];
      const settle = async () => {
        while (tasks.some((t) => t.status === 'running')) await new Promise((r) => setTimeout(r, 10));
      };
      // The nodes are full: stop first, then start VMs where memory was freed.
      for (const g of up.slice(0, 10)) tasks.push(sim.ops.power(g.node, g.vmid, g.type, 'stop', 'root@pam'));
      await settle();
      const freed = new Set(up.slice(0, 10).map((g) => g.node));
      let started = 0;
      for (const g of stopped.filter((x) => freed.has(x.node))) {
        if (started === 10) break;
        try {
          tasks.push(sim.ops.power(g.node, g.vmid, g.type, 'start', 'root@pam'));
          started++;
        } catch {
          // not enough memory on that node: try the next one
        }
      }
      if (started < 10) throw new Error(`only ${started} of 10 VMs could be started`);
      for (let k = 0; k < 5; k++)
        tasks.push(
          sim.ops.create(
            `pve${k + 1}`,
            90_000 + k,
            'qemu',
            { name: `new-${k}`, memory: 1024, cores: 1, ostype: 'l26', agent: '1', scsi0: 'local-lvm:8' },
            'root@pam',
          ),
        );
      const untouched = stopped.filter((g) => g.status === 'stopped' && !g.config.lock);
      for (const g of untouched.slice(-4)) tasks.push(sim.ops.destroy(g.node, g.vmid, g.type, 'root@pam'));
      for (const g of untouched.slice(-8, -4)) g.config.tags = 'retagged';
      changed += 10 + 10 + 5 + 4 + 4;
      await settle();
    }
    return changed;
  },
  requests: () => sims.reduce((n, s) => n + s.requests.total, 0),
  reset: () => sims.forEach((s) => s.requests.reset()),
  // The seeds' walk for one full sync: GET /nodes, then per node the qemu and lxc lists, then per VM
  // its status and its config, then the guest agent of every running QEMU VM.
  naive() {
    let naive = 0;
    for (const sim of sims) {
      const guests = [...sim.state.guests.values()];
      naive +=
        1 +
        2 * sim.state.nodes.size +
        2 * guests.length +
        guests.filter((g) => g.type === 'qemu' && g.status === 'running').length;
    }
    return naive;
  },
  async close() {
    await Promise.all(sims.map((s) => s.close()));
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on('message', async ({ id, op, args }) => {
  try {
    process.send({ id, ok: true, value: await handlers[op](args ?? {}) });
  } catch (error) {
    process.send({ id, ok: false, error: error instanceof Error ? error.stack : String(error) });
  }
});
// Never outlive the bench (it may have failed).
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });

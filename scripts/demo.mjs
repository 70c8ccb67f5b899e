// `npm run demo`: a simulated 3-node cluster in this process, driven through @lab/proxmox-sdk.
// Nothing to configure; all traffic stays on 127.0.0.1.
import { startPveSim } from '@lab/pve-sim';
import { ProxmoxClient, waitForTask, pvePath } from '@lab/proxmox-sdk';

const started = performance.now();
const timeScale = 20;
const sim = await startPveSim({ scenario: 'small', timeScale });
const pve = new ProxmoxClient({
  clusterId: 'demo',
  baseUrl: sim.url,
  auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
  tls: { fingerprint: sim.fingerprint },
});
const gib = (bytes) => `${(bytes / 1024 ** 3).toFixed(0)} GiB`;
const bar = (percent, width = 30) => '▓'.repeat(Math.round((percent / 100) * width)).padEnd(width, '░');
const tty = process.stdout.isTTY;

console.log(`Simulated Proxmox VE at ${sim.url} (certificate ${sim.fingerprint.slice(0, 23)}…, time ×${timeScale})\n`);
const version = await pve.version();
const nodes = await pve.get('/nodes');
console.log(`PVE ${version.version} — ${nodes.length} nodes`);
for (const n of nodes) console.log(`  ${n.node.padEnd(6)} ${n.status.padEnd(8)} cpu ${(n.cpu * 100).toFixed(0).padStart(3)} %  mem ${gib(n.mem)} / ${gib(n.maxmem)}`);

const guests = await pve.get('/cluster/resources', { type: 'vm' });
console.log(`\nTemplates:`);
for (const t of guests.filter((g) => g.template)) console.log(`  ${String(t.vmid).padEnd(5)} ${t.name.padEnd(20)} on ${t.node}`);
console.log(`Guests: ${guests.filter((g) => !g.template).length} (${guests.filter((g) => g.status === 'running').length} running)\n`);

const newid = Number(await pve.get('/cluster/nextid'));
console.log(`Full clone of template 9002 (16 GiB on shared NFS) as VM ${newid} on pve2:`);
const t0 = performance.now();
const upid = await pve.post(pvePath`/nodes/${'pve1'}/qemu/${9002}/clone`, { newid, name: 'demo-student', full: true, target: 'pve2' });
let last = -1;
await waitForTask(pve, upid, {
  pollIntervalMs: 100,
  maxPollIntervalMs: 250,
  onProgress: (p) => {
    if (tty) process.stdout.write(`\r  ${bar(p)} ${p.toFixed(1).padStart(5)} %`);
    else if (Math.floor(p / 25) > last) {
      last = Math.floor(p / 25);
      console.log(`  ${bar(p)} ${p.toFixed(1).padStart(5)} %`);
    }
  },
});
if (tty) process.stdout.write('\n');
const cloneMs = performance.now() - t0;
console.log(`  done in ${(cloneMs / 1000).toFixed(1)} s (${((cloneMs * timeScale) / 1000).toFixed(0)} s on the real-time model)`);

const t1 = performance.now();
await waitForTask(pve, await pve.post(pvePath`/nodes/${'pve2'}/qemu/${newid}/status/start`), { pollIntervalMs: 50, maxPollIntervalMs: 100 });
let ip;
while (!ip) {
  try {
    const agent = await pve.get(pvePath`/nodes/${'pve2'}/qemu/${newid}/agent/network-get-interfaces`);
    ip = agent.result.find((i) => i.name !== 'lo')?.['ip-addresses'][0]?.['ip-address'];
  } catch {
    await new Promise((r) => setTimeout(r, 200)); // guest agent still booting
  }
}
console.log(`Started VM ${newid}; its guest agent reports ${ip} after ${((performance.now() - t1) / 1000).toFixed(1)} s`);
console.log(`\nSimulator saw ${sim.requests.total} API requests, ${sim.requests.schemaViolations.length} of them invalid against the PVE schema.`);
console.log(`Demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s. Class deployment (/lab deploy cs101 10) lands with the deployment engine.`);
await pve.close();
await sim.close();

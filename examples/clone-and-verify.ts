// Clones a template the safe way and proves the clone is right: boot disk checked before, VMID
// allocated without races, task followed by UPID, `lock: clone` waited out, boot disk checked after.
// Runs against pve-sim by default:   npx tsx examples/clone-and-verify.ts
// Against a real cluster: PVE_URL, PVE_TOKEN_ID, PVE_TOKEN_SECRET, PVE_FINGERPRINT, and
//   SOURCE_NODE / SOURCE_VMID (the template), NAME (the new VM's name).
import { ProxmoxClient, isLabError } from '@lab/proxmox-sdk';
import { cloneVm, pvePath } from '@lab/proxmox-sdk/pve';
import { startPveSim } from '@lab/pve-sim';

async function main(): Promise<void> {
  const sim = process.env.PVE_URL ? undefined : await startPveSim({ timeScale: 50 });
  const pve = new ProxmoxClient({
    clusterId: 'example',
    baseUrl: process.env.PVE_URL || sim!.url,
    auth: {
      type: 'token',
      tokenId: process.env.PVE_TOKEN_ID || sim!.tokenId,
      secret: process.env.PVE_TOKEN_SECRET || sim!.tokenSecret,
    },
    tls: { fingerprint: process.env.PVE_FINGERPRINT || sim!.fingerprint },
  });
  const source = { node: process.env.SOURCE_NODE || 'pve1', vmid: Number(process.env.SOURCE_VMID || 9000) };
  try {
    const linked = await cloneVm(pve, {
      source,
      name: process.env.NAME || 'example-linked',
      pollIntervalMs: 200,
      onProgress: (p) =>
        console.log(
          `  ${p.phase}${p.vmid ? ` vmid=${p.vmid}` : ''}${p.percent !== undefined ? ` ${p.percent.toFixed(1)}%` : ''}`,
        ),
    });
    console.log(
      `linked clone ${linked.vmid} on ${linked.node}: boot disk ${linked.bootDisk.volid}, ${linked.durationMs} ms, ${linked.attempts} attempt(s)`,
    );
    if (sim) {
      // A template on thick LVM cannot hold linked clones: 'auto' falls back to a full clone and says why.
      const full = await cloneVm(pve, {
        source: { node: 'pve3', vmid: 9003 },
        name: 'example-full',
        pollIntervalMs: 200,
      });
      console.log(`full clone ${full.vmid} on ${full.node} (fell back: ${full.fallbackReason})`);
      const config = await pve.get<Record<string, unknown>>(pvePath`/nodes/${full.node}/qemu/${full.vmid}/config`);
      console.log(`its config has no lock: ${config.lock === undefined}`);
    }
  } catch (error) {
    console.error(isLabError(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  } finally {
    await pve.close();
    await sim?.close();
  }
}

await main();

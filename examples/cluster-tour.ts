// Connects to a Proxmox VE cluster with @lab/proxmox-sdk and prints its nodes and templates.
// With no arguments it starts pve-sim first, so it runs anywhere:   npx tsx examples/cluster-tour.ts
// Against a real cluster:  PVE_URL=https://pve1:8006 PVE_TOKEN_ID='lab@pve!bot' PVE_TOKEN_SECRET=… PVE_FINGERPRINT=AA:BB:… npx tsx examples/cluster-tour.ts
import { ProxmoxClient, isLabError } from '@lab/proxmox-sdk';
import { startPveSim } from '@lab/pve-sim';
import { z } from 'zod';

const resourceSchema = z.array(
  z
    .object({
      vmid: z.number(),
      name: z.string().optional(),
      node: z.string(),
      template: z.number().optional(),
      status: z.string(),
    })
    .loose(),
);

async function main(): Promise<void> {
  const sim = process.env.PVE_URL ? undefined : await startPveSim();
  const pve = new ProxmoxClient({
    clusterId: 'tour',
    baseUrl: process.env.PVE_URL || sim!.url,
    auth: {
      type: 'token',
      tokenId: process.env.PVE_TOKEN_ID || sim!.tokenId,
      secret: process.env.PVE_TOKEN_SECRET || sim!.tokenSecret,
    },
    tls: { fingerprint: process.env.PVE_FINGERPRINT || sim!.fingerprint },
  });
  try {
    const { version } = await pve.version();
    const guests = await pve.get('/cluster/resources', { type: 'vm' }, { schema: resourceSchema });
    const templates = guests.filter((g) => g.template === 1);
    console.log(`PVE ${version}: ${guests.length - templates.length} guests, ${templates.length} templates`);
    for (const t of templates) console.log(`template ${t.vmid} ${t.name ?? ''} on ${t.node}`);
  } catch (error) {
    console.error(isLabError(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  } finally {
    await pve.close();
    await sim?.close();
  }
}

await main();

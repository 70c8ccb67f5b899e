import { z } from 'zod';
import { LabDoctor } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { renderDoctorReport } from '../doctor-report-text.js';

/**
 * `/lab doctor` (admins): checks every cluster the lab uses — TLS trust, reachability and Proxmox
 * VE version, and the token's privileges for that version (the SDK's `LabDoctor`). Text is the
 * checklist `lab doctor` prints; `data` is the report (`--json`). A failed check makes the reply an
 * error, so `lab` exits 1.
 */
export const doctorSubcommand = subcommand({
  description: "Check the clusters: TLS, reachability, PVE version and the token's privileges (admins)",
  options: z.object({}),
  positional: [],
  role: 'admin',
  ephemeral: true,
  async run(ctx) {
    const doctor = new LabDoctor({
      clusters: ctx.services.clusters,
      console: Boolean(ctx.services.console?.publicUrl),
      // The SDN privileges are checked once a class uses networks: recorded SDN objects on the
      // cluster, or (with `sdn` configured for it) a lab definition asking for private networks.
      networks: async (clusterId) =>
        (await ctx.services.store.sdn.list(clusterId)).length > 0 ||
        (ctx.services.engine.hasNetworks(clusterId) &&
          (await ctx.services.store.labDefinitions.list()).some((lab) => lab.network.mode !== 'bridge')),
    });
    const report = await doctor.checkClusters();
    return {
      text: renderDoctorReport(report),
      data: report,
      ...(report.ok ? {} : { error: true, failed: true }),
    };
  },
});

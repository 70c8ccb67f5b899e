import { z } from 'zod';
import { ConsoleNotConfiguredError } from '@lab/proxmox-sdk/errors';
import type { VmInventoryRecord } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Reply } from '../command-plugin.js';
import { pickMyVm, vmOption, vmSuggestion } from './my-vms.js';

/** The VMs the caller may open a console of: their own; a teacher's students'; an admin's, all. */
async function consoleVms(ctx: CommandContext): Promise<VmInventoryRecord[]> {
  return (await ctx.services.inventory.listVms({ user: ctx.caller.viewer })).vms;
}

/** The VM named by `vm` among those the caller may open, or the caller's only own VM. */
async function pickConsoleVm(ctx: CommandContext, vm: string | undefined): Promise<VmInventoryRecord | Reply> {
  if (vm === undefined || ctx.caller.viewer.role === 'student') return pickMyVm(ctx, vm, 'console');
  const vms = await consoleVms(ctx);
  const found = vms.find((v) => String(v.vmid) === vm) ?? vms.find((v) => v.name === vm);
  return (
    found ?? {
      text: `You may not open a VM '${vm}': it is not yours${ctx.caller.viewer.role === 'teacher' ? " or one of your students'" : ''}, or the inventory does not know it.`,
      ephemeral: true,
      error: true,
    }
  );
}

/**
 * `/myvm console [vm]`: a one-time link to the VM's screen in the browser, for when SSH does not
 * work. Teachers may name their students' VMs and admins any VM. The link opens once, within
 * `console.linkTtlSeconds`; the session then lasts at most `console.sessionMinutes`.
 */
export const consoleSubcommand = subcommand({
  description: "A one-time browser link to your VM's screen (when SSH does not work)",
  options: z.object({ vm: vmOption }),
  positional: ['vm'],
  role: 'student',
  ephemeral: true,
  autocomplete: { vm: async (ctx) => (await consoleVms(ctx)).map(vmSuggestion) },
  async run(ctx, o) {
    const service = ctx.services.console;
    if (!service?.publicUrl) throw new ConsoleNotConfiguredError();
    const picked = await pickConsoleVm(ctx, o.vm);
    if ('text' in picked) return picked;
    const refreshed = await ctx.services.inventory
      .refreshVm(picked.clusterId, picked.vmid)
      .catch((error: unknown) =>
        ctx.services.logger.warn('could not refresh a VM for console', { vmid: picked.vmid, error }),
      );
    const vm = refreshed ?? picked;
    if (vm.status !== 'running')
      return { text: `${vm.name} is ${vm.status}; start it first with /myvm start.`, error: true };
    const { caller } = ctx;
    const { token, grant } = await service.grants.issue(
      { viewer: caller.viewer, platform: caller.platform, platformUserId: caller.platformUserId },
      { clusterId: vm.clusterId, vmid: vm.vmid },
    );
    const url = `${service.publicUrl.replace(/\/+$/, '')}/console/${token}`;
    const seconds = Math.round((grant.expiresAt - grant.createdAt) / 1000);
    const minutes = Math.round(grant.sessionMaxMs / 60_000);
    return {
      text: `Console of ${vm.name} (${vm.vmid}): ${url}\nOpen it within ${seconds} s; it works once and the session lasts up to ${minutes} min. Keep it to yourself.`,
      data: {
        url,
        clusterId: vm.clusterId,
        vmid: vm.vmid,
        expiresAt: grant.expiresAt,
        sessionMaxMs: grant.sessionMaxMs,
      },
    };
  },
});

import { z } from 'zod';
import type { VmInventoryRecord } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Reply, type Subcommand, type Suggestion } from '../command-plugin.js';
import { beingResetReply, myResetsUnderWay, resetOf } from './being-reset.js';

/** The `[vm]` option of `/myvm` subcommands. */
export const vmOption = z
  .string()
  .regex(/^[a-z0-9-]+$/i, 'name a VM by its id or name')
  .optional()
  .describe('VM id or name, if you have several');

/** The caller's own VMs, from the inventory. */
export async function myVms(ctx: CommandContext): Promise<{ vms: VmInventoryRecord[]; stale: boolean }> {
  const result = await ctx.services.inventory.listVms({ user: { ...ctx.caller.viewer, role: 'student' } });
  return { vms: result.vms, stale: result.stale };
}

/** A VM as an autocomplete suggestion: shown and matched as `cs101-alice (105)`, given as its id. */
export const vmSuggestion = (vm: { name: string; vmid: number }): Suggestion => ({
  label: `${vm.name} (${vm.vmid})`,
  value: String(vm.vmid),
});

/** The caller's VM named by `vm`, or the only one; otherwise a reply listing the choice. */
export async function pickMyVm(
  ctx: CommandContext,
  vm: string | undefined,
  verb: string,
): Promise<VmInventoryRecord | Reply> {
  const { vms } = await myVms(ctx);
  const resets = await myResetsUnderWay(ctx);
  // A VM being reset may be gone from the cluster (and the inventory) until its clone is registered.
  const checked = async (found: VmInventoryRecord): Promise<VmInventoryRecord | Reply> => {
    const reset = resetOf(resets, found);
    return reset || found.status === 'resetting' ? beingResetReply(ctx, found, reset) : found;
  };
  if (vm) {
    const found = vms.find((v) => String(v.vmid) === vm || v.name === vm);
    if (found) return checked(found);
    const reset = resets.find((r) => String(r.vmid) === vm || r.name === vm);
    if (reset) return beingResetReply(ctx, reset, reset);
  }
  if (vms.length === 0) {
    const [reset] = resets;
    if (reset) return beingResetReply(ctx, reset, reset);
    return { text: 'You have no VM yet. Your teacher deploys them with /lab deploy.', ephemeral: true, error: true };
  }
  if (vm)
    return {
      text: `You have no VM '${vm}'. Yours: ${vms.map((v) => `${v.name} (${v.vmid})`).join(', ')}`,
      ephemeral: true,
      error: true,
    };
  const gone = resets.filter((r) => !vms.some((v) => resetOf([r], v)));
  if (vms.length === 1 && gone.length === 0) return checked(vms[0]!);
  const all = [...vms, ...gone];
  return {
    text: `You have ${all.length} VMs; say which: ${all.map((v) => `/myvm ${verb} ${v.vmid ?? v.name} (${v.name})`).join(', ')}`,
    ephemeral: true,
    error: true,
  };
}

/**
 * A `/myvm` subcommand that acts on one of the caller's VMs (`[vm]`, optional when they have one):
 * any enrolled person may run it, replies are private, and `run` gets the VM already picked.
 */
export function myVmSubcommand(definition: {
  description: string;
  verb: string;
  run: (ctx: CommandContext, vm: VmInventoryRecord) => Promise<Reply>;
}): Subcommand {
  return subcommand({
    description: definition.description,
    options: z.object({ vm: vmOption }),
    positional: ['vm'],
    role: 'student',
    ephemeral: true,
    autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map(vmSuggestion) },
    async run(ctx, o) {
      const chosen = await pickMyVm(ctx, o.vm, definition.verb);
      return 'text' in chosen ? chosen : definition.run(ctx, chosen);
    },
  });
}

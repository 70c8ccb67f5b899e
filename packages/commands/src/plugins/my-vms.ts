import { z } from 'zod';
import { DeploymentEngine, type VmInventoryRecord } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Reply, type Subcommand, type Suggestion } from '../command-plugin.js';
import { beingResetReply, myResetsUnderWay, resetOf } from './being-reset.js';

/** The `[vm]` option of `/myvm` subcommands. */
export const vmOption = z
  .string()
  .regex(/^[a-z0-9-]+$/i, 'name a VM by its id or name')
  .optional()
  .describe('VM id or name, if you have several');

/** The lab role a VM plays (`target`), from its tags; undefined for a class with one VM per student. */
export const roleOf = (vm: { tags?: string | null }): string | undefined => DeploymentEngine.labRoleOf(vm);

/** The class tags of a VM (`class-cs101`). */
const classOf = (vm: { tags?: string | null }): string | undefined =>
  /(?:^|[;,\s])class-([a-z0-9-]+)/.exec(vm.tags ?? '')?.[1];

/**
 * The caller's VMs when they are one class's set of role VMs (`cs101-alice-attacker`,
 * `cs101-alice-target`): what `/myvm start` and `stop` act on together when no VM is named.
 */
export function labSetOf(vms: readonly VmInventoryRecord[]): VmInventoryRecord[] | undefined {
  if (vms.length < 2 || !vms.every((v) => roleOf(v) !== undefined)) return undefined;
  return new Set(vms.map(classOf)).size === 1 ? [...vms] : undefined;
}

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
    // A role of the caller's set (`/myvm start target`).
    const byRole = vms.filter((v) => roleOf(v) === vm);
    if (byRole.length === 1) return checked(byRole[0]!);
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
      text: `You have no VM '${vm}'. Yours: ${vms.map((v) => `${v.name} (${roleOf(v) ? `${roleOf(v)}, ` : ''}${v.vmid})`).join(', ')}`,
      ephemeral: true,
      error: true,
    };
  const gone = resets.filter((r) => !vms.some((v) => resetOf([r], v)));
  if (vms.length === 1 && gone.length === 0) return checked(vms[0]!);
  const all = [...vms, ...gone];
  return {
    text: `You have ${all.length} VMs; say which: ${all.map((v) => `/myvm ${verb} ${('tags' in v ? roleOf(v) : undefined) ?? v.vmid ?? v.name} (${v.name})`).join(', ')}`,
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
  run: (ctx: CommandContext, vm: VmInventoryRecord, inSet?: boolean) => Promise<Reply>;
  /** Without a VM named, act on each VM of the caller's set of role VMs (start, stop) instead of asking which. */
  wholeSet?: boolean;
}): Subcommand {
  return subcommand({
    description: definition.description,
    options: z.object({ vm: vmOption }),
    positional: ['vm'],
    role: 'student',
    ephemeral: true,
    autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map(vmSuggestion) },
    async run(ctx, o) {
      const set = !o.vm && definition.wholeSet ? labSetOf((await myVms(ctx)).vms) : undefined;
      if (set) {
        const replies: Reply[] = [];
        for (const vm of set) {
          const chosen = await pickMyVm(ctx, String(vm.vmid), definition.verb);
          replies.push('text' in chosen ? chosen : await definition.run(ctx, chosen, true));
        }
        return {
          text: replies.map((r) => r.text).join('\n'),
          ephemeral: true,
          ...(replies.some((r) => r.error) ? { error: true } : {}),
          data: replies.map((r) => r.data ?? null),
        };
      }
      const chosen = await pickMyVm(ctx, o.vm, definition.verb);
      return 'text' in chosen ? chosen : definition.run(ctx, chosen);
    },
  });
}

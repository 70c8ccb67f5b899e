import {
  classTimeZone,
  formatLocalTime,
  resetsUnderWay,
  type ResetUnderWay,
  type VmInventoryRecord,
} from '@lab/proxmox-sdk';
import type { CommandContext, Reply } from '../command-plugin.js';

/**
 * The answer for a VM a reset is re-creating: what is going on (since when, in the class's time
 * zone) and when to come back.
 */
export async function beingResetReply(
  ctx: CommandContext,
  vm: { name: string },
  reset?: Pick<ResetUnderWay, 'since' | 'classId'>,
): Promise<Reply> {
  const since = reset
    ? ` (since ${formatLocalTime(reset.since, classTimeZone(await ctx.services.store.schedules.list(reset.classId), ctx.services.timezone))})`
    : '';
  return {
    text: `${vm.name} is being reset${since}; try again in a few minutes.`,
    ephemeral: true,
    error: true,
  };
}

/** The caller's VMs that unfinished resets are re-creating (none for a caller with no person record). */
export async function myResetsUnderWay(ctx: CommandContext): Promise<ResetUnderWay[]> {
  const personId = ctx.caller.viewer.personId;
  return personId === null ? [] : resetsUnderWay(ctx.services.store, { personId });
}

/** The reset under way for `vm` (by VMID on its cluster, or by name), if any. */
export function resetOf(
  resets: readonly ResetUnderWay[],
  vm: Pick<VmInventoryRecord, 'name' | 'vmid' | 'clusterId'>,
): ResetUnderWay | undefined {
  return resets.find((r) => (r.vmid === vm.vmid && r.clusterId === vm.clusterId) || r.name === vm.name);
}

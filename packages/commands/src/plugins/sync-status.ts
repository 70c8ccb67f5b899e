import type { CommandContext, Reply } from '../command-plugin.js';

const when = (at: number | null, now: number): string => {
  if (at === null) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/**
 * `/lab sync status` (and `lab sync status`): the inventory's totals — total, fresh, errored and
 * running VMs — the last full and quick sync, consecutive errors, and each cluster's state. Reads
 * the store only, so it answers in any process, syncing or not.
 */
export async function syncStatusReply(ctx: CommandContext): Promise<Reply> {
  const stats = await ctx.services.inventory.syncStats();
  const health = await ctx.services.inventory.syncHealth();
  const now = ctx.services.clock.now();
  const lines = [
    `VMs: ${stats.total} total, ${stats.fresh} fresh, ${stats.withErrors} with sync errors, ${stats.running} running`,
    `Last full sync ${when(stats.lastFullSyncAt, now)}, last quick sync ${when(stats.lastQuickSyncAt, now)}; consecutive errors: ${stats.consecutiveErrors}`,
    `This process: ${stats.isRunning ? (stats.isLeader ? 'syncing (holds the leader lease)' : 'standing by (another process holds the leader lease)') : 'not running the sync engine'}`,
    ...stats.clusters.map(
      (c) =>
        `${c.clusterId}: last success ${when(c.lastSuccessAt, now)}${c.consecutiveErrors ? `, ${c.consecutiveErrors} failed syncs: ${c.lastError ?? ''}` : ''}`,
    ),
    health.healthy ? 'Healthy.' : `Issues: ${health.issues.join('; ')}`,
    ...(health.warnings.length ? [`Warnings: ${health.warnings.join('; ')}`] : []),
  ];
  return {
    text: lines.join('\n'),
    data: { ...stats, healthy: health.healthy, issues: health.issues, warnings: health.warnings },
    ephemeral: true,
  };
}

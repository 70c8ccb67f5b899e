import type { DeploymentRecord, Store } from '@lab/proxmox-sdk';

/** The class's deployments left unfinished (their process may have stopped); a deploy that gets the class finishes them first. */
export async function unfinishedDeploymentsOf(store: Store, classId: string): Promise<DeploymentRecord[]> {
  return (await store.deployments.unfinished()).filter((d) => d.classId === classId);
}

/**
 * A line for each of `left` that has ended since (the deploy that just ran finished it before its
 * own): `cs101: finished the deployment a stopped process had started (lovelace, 2026-12-07 16:40 UTC): 10 VM(s) ready.`
 */
export async function finishedForStoppedProcess(store: Store, left: readonly DeploymentRecord[]): Promise<string[]> {
  const lines: string[] = [];
  for (const d of left) {
    const now = await store.deployments.get(d.id);
    if (!now || now.status === 'planned' || now.status === 'running') continue;
    const items = await store.deployments.items(d.id);
    const ready = items.filter((i) => i.kind !== 'delete' && i.status === 'done').length;
    const deleted = items.filter((i) => i.kind === 'delete' && (i.status === 'done' || i.status === 'deleted')).length;
    const failed = items.filter((i) => i.status === 'failed').length;
    const started = `${new Date(d.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
    lines.push(
      `${d.classId}: finished the deployment a stopped process had started (${d.createdBy ? `${d.createdBy}, ` : ''}${started}): ${ready} VM(s) ready${deleted ? `, ${deleted} deleted` : ''}${failed ? `, ${failed} failed` : ''}.`,
    );
  }
  return lines;
}

import type { VmInventoryRecord } from '../store/records.js';
import type { Store, VmSyncFields } from '../store/store.js';
import type { VmResource } from '../templates/template-inventory.js';
import { differsBeyondUsage, diffResource, type ResourceDiff, type StoredVm } from './inventory-diff.js';
import { isStartingUnreached } from './vm-detail-fetch.js';

/** What a sync compares its listing with. */
export interface ComparedRows {
  /** The stored row of every VM of the cluster (gone ones and templates too), by VMID. */
  existing: Map<number, StoredVm>;
  /** The diffs already made against the stored rows (a quick sync's VMs not read whole), by VMID. */
  diffs: Map<number, ResourceDiff>;
}

/**
 * The store's rows a sync compares a cluster's listing with, by VMID (gone VMs and templates too).
 * A full sync reads them whole: its detail reads need every running VM's address and last check.
 * A quick sync reads only the compared fields of each row (`listSyncFields`), then the whole rows
 * of the VMs it will write whole: those listed again after being gone, those whose compared
 * fields differ from the listing beyond their usage, and those still starting that it probes. So
 * a quick sync of an unchanged cluster reads a few columns per VM, and every row it writes whole
 * is built from the whole stored row, as a full sync's.
 */
export async function rowsToCompare(
  store: Store,
  clusterId: string,
  resources: readonly VmResource[],
  kind: 'full' | 'quick',
  now: number,
): Promise<ComparedRows> {
  const diffs = new Map<number, ResourceDiff>();
  if (kind === 'full') {
    const rows = await store.inventory.list({ clusterId, includeTemplates: true, includeGone: true });
    return { existing: new Map<number, StoredVm>(rows.map((r) => [r.vmid, r])), diffs };
  }
  const existing = new Map<number, VmInventoryRecord | VmSyncFields>(
    (await store.inventory.listSyncFields(clusterId)).map((r) => [r.vmid, r]),
  );
  const whole: number[] = [];
  for (const r of resources) {
    const prev = existing.get(r.vmid);
    if (!prev) continue;
    if (prev.goneAt !== null) {
      whole.push(r.vmid);
      continue;
    }
    const diff = diffResource(clusterId, prev, r, now);
    if (differsBeyondUsage(prev, diff.row) || isStartingUnreached(diff.row)) whole.push(r.vmid);
    else diffs.set(r.vmid, diff);
  }
  if (whole.length > 0)
    for (const row of await store.inventory.list({
      clusterId,
      vmids: whole,
      includeTemplates: true,
      includeGone: true,
    }))
      existing.set(row.vmid, row);
  return { existing, diffs };
}

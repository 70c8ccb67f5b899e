import type { VmInventoryRecord } from '../store/records.js';
import type { Store, VmSyncFields } from '../store/store.js';
import type { VmResource } from '../templates/template-inventory.js';
import { differsBeyondUsage, diffResource, type StoredVm } from './inventory-diff.js';
import { isStartingUnreached } from './vm-detail-fetch.js';

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
): Promise<Map<number, StoredVm>> {
  if (kind === 'full') {
    const rows = await store.inventory.list({ clusterId, includeTemplates: true, includeGone: true });
    return new Map<number, StoredVm>(rows.map((r) => [r.vmid, r]));
  }
  const fields = new Map<number, VmInventoryRecord | VmSyncFields>(
    (await store.inventory.listSyncFields(clusterId)).map((r) => [r.vmid, r]),
  );
  const whole: number[] = [];
  for (const r of resources) {
    const prev = fields.get(r.vmid);
    if (!prev) continue;
    if (prev.goneAt !== null) {
      whole.push(r.vmid);
      continue;
    }
    const { row } = diffResource(clusterId, prev, r, now);
    if (differsBeyondUsage(prev, row) || isStartingUnreached(row)) whole.push(r.vmid);
  }
  if (whole.length > 0)
    for (const row of await store.inventory.list({
      clusterId,
      vmids: whole,
      includeTemplates: true,
      includeGone: true,
    }))
      fields.set(row.vmid, row);
  return fields;
}

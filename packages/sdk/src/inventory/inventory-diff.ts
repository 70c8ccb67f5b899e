import type { VmInventoryRecord } from '../store/records.js';
import type { Store, VmSyncKeyRow, VmUsageReading } from '../store/store.js';
import { VM_SYNC_FLAGS } from '../store/vm-sync-key.js';
import type { VmResource } from '../templates/template-inventory.js';

/** How a VM the cluster lists (`cluster.resources()`) compares with its inventory row, and which details are due. */
export interface ResourceDiff {
  /** The new inventory row. */
  row: VmInventoryRecord;
  /** `added` for a VM the inventory did not have (or had as gone); `changed` when hardware, name, node, status or tags differ. */
  change: 'added' | 'changed' | 'none';
  /** New, or hardware, name or node changed: read its config. */
  readConfig: boolean;
  /** New, moved or just started: ask its guest agent for the IP. */
  readAgent: boolean;
}

/** The row the store holds for a VM: whole, or its sync key (`listSyncKeys`) when a quick sync found it unchanged. */
export type StoredVm = VmInventoryRecord | VmSyncKeyRow;

/** Whether the store's row is whole (not only its sync key). */
export const isWhole = (prev: StoredVm | undefined): prev is VmInventoryRecord =>
  prev !== undefined && 'category' in prev;
/** Whether the stored row is marked gone. */
export const isStoredGone = (prev: StoredVm): boolean =>
  isWhole(prev) ? prev.goneAt !== null : (prev.flags & VM_SYNC_FLAGS.gone) !== 0;
/** Whether the stored row is of a VM not gone and running. */
const wasRunning = (prev: StoredVm | undefined): boolean =>
  prev !== undefined &&
  !isStoredGone(prev) &&
  (isWhole(prev) ? prev.status === 'running' : (prev.flags & VM_SYNC_FLAGS.running) !== 0);

/**
 * Compares one listed VM with its inventory row: the new row takes the live fields from
 * `cluster.resources()` and keeps the details read before.
 */
export function diffResource(
  clusterId: string,
  prev: VmInventoryRecord | undefined,
  r: VmResource,
  now: number,
): ResourceDiff {
  const status = r.status ?? 'unknown';
  const memory = r.maxmem !== undefined ? Math.round(r.maxmem / 1024 / 1024) : (prev?.memory ?? null);
  const row: VmInventoryRecord = {
    clusterId,
    vmid: r.vmid,
    // A fresh entry (pvestatd has not reported it yet) has no name, template flag or usage: keep what we knew.
    name: r.name ?? prev?.name ?? `VM ${r.vmid}`,
    node: r.node,
    status,
    ip: status === 'running' ? (prev?.ip ?? null) : null,
    type: r.type === 'lxc' ? 'lxc' : 'qemu',
    category: prev?.category ?? 'other',
    memory,
    cores: r.maxcpu ?? prev?.cores ?? null,
    diskSize: r.maxdisk ?? prev?.diskSize ?? null,
    uptime: r.uptime ?? 0,
    cpuUsage: r.cpu ?? 0,
    memoryUsage: r.maxmem ? (r.mem ?? 0) / r.maxmem : 0,
    isTemplate: r.template !== undefined ? Number(r.template) === 1 : (prev?.isTemplate ?? false),
    tags: r.tags ?? '',
    rdpAvailable: status === 'running' ? (prev?.rdpAvailable ?? false) : false,
    sshAvailable: status === 'running' ? (prev?.sshAvailable ?? false) : false,
    lastUpdated: now,
    lastStatusCheck: prev?.lastStatusCheck ?? null,
    syncError: prev?.syncError ?? null,
    goneAt: null,
  };
  if (!prev || prev.goneAt !== null) return { row, change: 'added', readConfig: true, readAgent: true };
  const hardware =
    prev.node !== row.node ||
    prev.name !== row.name ||
    prev.memory !== row.memory ||
    prev.cores !== row.cores ||
    prev.isTemplate !== row.isTemplate;
  return {
    row,
    change: hardware || prev.status !== status || prev.tags !== row.tags ? 'changed' : 'none',
    readConfig: hardware,
    readAgent: prev.node !== row.node || (prev.status !== status && status === 'running'),
  };
}

/** Whether a listed VM's row differs from what the store holds in more than its usage. */
export function differsBeyondUsage(prev: VmInventoryRecord, row: VmInventoryRecord): boolean {
  return (
    prev.category !== row.category ||
    prev.lastStatusCheck !== row.lastStatusCheck ||
    prev.syncError !== row.syncError ||
    prev.goneAt !== row.goneAt ||
    prev.name !== row.name ||
    prev.node !== row.node ||
    prev.status !== row.status ||
    prev.ip !== row.ip ||
    prev.type !== row.type ||
    prev.memory !== row.memory ||
    prev.cores !== row.cores ||
    prev.diskSize !== row.diskSize ||
    prev.isTemplate !== row.isTemplate ||
    prev.tags !== row.tags ||
    prev.rdpAvailable !== row.rdpAvailable ||
    prev.sshAvailable !== row.sshAvailable
  );
}

const usageOf = (row: VmInventoryRecord): VmUsageReading => ({
  vmid: row.vmid,
  uptime: row.uptime,
  cpuUsage: row.cpuUsage,
  memoryUsage: row.memoryUsage,
});

/**
 * Writes one cluster's rows in `tx`: whole rows only where more than the usage changed, the usage
 * readings where only they did, nothing for the rest but their `lastUpdated`; marks the VMs no
 * longer listed gone, and keeps the usage ledger from status transitions (our own power actions
 * record theirs at once). Returns how many VMs went. `existing` holds the whole row of every VM
 * whose row may differ beyond its usage, and the sync key of those found unchanged (see
 * `rowsToCompare`): of those, only the usage is written, of the running ones and any listed with
 * some (a stopped VM's zero usage was written with its status; a full sync compares it anyway).
 * The rows in `unkeyed` (their store has no sync key for them) are written whole.
 */
export async function storeInventory(
  tx: Store,
  clusterId: string,
  rows: VmInventoryRecord[],
  existing: ReadonlyMap<number, StoredVm>,
  now: number,
  unkeyed: ReadonlySet<number> = new Set(),
): Promise<number> {
  const whole: VmInventoryRecord[] = [];
  const readings: VmUsageReading[] = [];
  for (const row of rows) {
    const prev = existing.get(row.vmid);
    if (!prev || unkeyed.has(row.vmid)) whole.push(row);
    else if (isWhole(prev)) {
      if (differsBeyondUsage(prev, row)) whole.push(row);
      else if (prev.uptime !== row.uptime || prev.cpuUsage !== row.cpuUsage || prev.memoryUsage !== row.memoryUsage)
        readings.push(usageOf(row));
    } else if (row.status === 'running' || row.uptime !== 0 || row.cpuUsage !== 0 || row.memoryUsage !== 0)
      readings.push(usageOf(row));
  }
  await tx.inventory.upsertMany(whole);
  const gone = await tx.inventory.markGone(
    clusterId,
    rows.map((r) => r.vmid),
    now,
  );
  await tx.inventory.refreshListed(clusterId, readings, now);
  for (const row of rows) {
    if (row.isTemplate) continue;
    const prev = existing.get(row.vmid);
    const running = wasRunning(prev);
    if (row.status === 'running' && !running)
      await tx.usage.openInterval(clusterId, row.vmid, prev ? now : now - row.uptime * 1000);
    else if (row.status !== 'running' && running) await tx.usage.closeInterval(clusterId, row.vmid, now);
  }
  const listed = new Set(rows.map((r) => r.vmid));
  for (const prev of existing.values()) {
    if (wasRunning(prev) && !listed.has(prev.vmid)) await tx.usage.closeInterval(clusterId, prev.vmid, now);
  }
  return gone;
}

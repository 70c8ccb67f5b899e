import type { VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
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

/**
 * Writes one cluster's rows in `tx`: upserts them, marks the VMs no longer listed gone, and keeps
 * the usage ledger from status transitions (our own power actions record theirs at once).
 * Returns how many VMs went.
 */
export async function storeInventory(
  tx: Store,
  clusterId: string,
  rows: VmInventoryRecord[],
  existing: Map<number, VmInventoryRecord>,
  now: number,
): Promise<number> {
  await tx.inventory.upsertMany(rows);
  const gone = await tx.inventory.markGone(
    clusterId,
    rows.map((r) => r.vmid),
    now,
  );
  for (const row of rows) {
    if (row.isTemplate) continue;
    const prev = existing.get(row.vmid);
    const wasRunning = prev !== undefined && prev.goneAt === null && prev.status === 'running';
    if (row.status === 'running' && !wasRunning)
      await tx.usage.openInterval(clusterId, row.vmid, prev ? now : now - row.uptime * 1000);
    else if (row.status !== 'running' && wasRunning) await tx.usage.closeInterval(clusterId, row.vmid, now);
  }
  for (const prev of existing.values()) {
    if (prev.goneAt === null && prev.status === 'running' && !rows.some((r) => r.vmid === prev.vmid))
      await tx.usage.closeInterval(clusterId, prev.vmid, now);
  }
  return gone;
}

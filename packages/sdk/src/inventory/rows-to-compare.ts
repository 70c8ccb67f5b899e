import type { VmInventoryRecord } from '../store/records.js';
import type { Store, VmSyncKeyRow } from '../store/store.js';
import { VM_SYNC_FLAGS, vmSyncKey } from '../store/vm-sync-key.js';
import type { VmResource } from '../templates/template-inventory.js';
import type { ResourceDiff, StoredVm } from './inventory-diff.js';
import { isStartingUnreached } from './vm-detail-fetch.js';

/** What a sync compares its listing with. */
export interface ComparedRows {
  /**
   * The stored row of every VM of the cluster (gone ones and templates too), by VMID: whole, or
   * (the VMs found unchanged, and those no longer listed) its sync key.
   */
  existing: Map<number, StoredVm>;
  /** The diffs of the VMs found unchanged, by VMID. */
  diffs: Map<number, ResourceDiff>;
  /** The listed VMs whose stored row has no sync key: written whole, so that it has one again. */
  unkeyed: Set<number>;
}

const ADDRESS = VM_SYNC_FLAGS.ip | VM_SYNC_FLAGS.rdp | VM_SYNC_FLAGS.ssh;

/**
 * The store's rows a sync compares a cluster's listing with, by VMID (gone VMs and templates too).
 * It reads each row's sync key (`listSyncKeys`: a hash of the fields a listing gives, the address
 * and a few flags), then the whole rows of the VMs it may write whole or read details of: those
 * listed again after being gone, those whose listing differs from the key or drops their address,
 * those still starting that it probes and, in a full sync, those with details due (`detailsDue`)
 * and every running VM (its guest agent and ports are checked). So a quick sync of an unchanged
 * cluster reads one key per VM, a full sync the whole rows of its running VMs, and every row
 * written whole is built from the whole stored row.
 */
export async function rowsToCompare(
  store: Store,
  clusterId: string,
  resources: readonly VmResource[],
  sync: { kind: 'full' | 'quick'; now: number; detailsDue: (vmid: number) => boolean },
): Promise<ComparedRows> {
  const diffs = new Map<number, ResourceDiff>();
  const unkeyed = new Set<number>();
  const existing = new Map<number, StoredVm>();
  for (const key of await store.inventory.listSyncKeys(clusterId)) existing.set(key.vmid, key);
  const whole: number[] = [];
  for (const r of resources) {
    const prev = existing.get(r.vmid) as VmSyncKeyRow | undefined;
    if (!prev) continue;
    if (prev.syncKey === null) unkeyed.add(r.vmid);
    const diff =
      sync.kind === 'full' && (r.status === 'running' || sync.detailsDue(r.vmid))
        ? undefined
        : unchangedDiff(clusterId, prev, r, sync.now);
    if (diff) diffs.set(r.vmid, diff);
    else whole.push(r.vmid);
  }
  if (whole.length > 0)
    for (const row of await store.inventory.list({
      clusterId,
      vmids: whole,
      includeTemplates: true,
      includeGone: true,
    }))
      existing.set(row.vmid, row);
  return { existing, diffs, unkeyed };
}

/**
 * The diff of a listed VM whose stored row, by its sync key, differs in nothing but usage; or
 * undefined when it may differ in more (or the listing is too fresh to tell), so the whole row is
 * to be read. The row carries the stored address; its details (category, last status check, sync
 * error) are placeholders, so only its usage is ever written.
 */
function unchangedDiff(clusterId: string, prev: VmSyncKeyRow, r: VmResource, now: number): ResourceDiff | undefined {
  if (prev.syncKey === null || (prev.flags & VM_SYNC_FLAGS.gone) !== 0) return undefined;
  // A fresh entry (pvestatd has not reported it yet) lacks fields the row keeps from before.
  if (
    r.name === undefined ||
    r.maxmem === undefined ||
    r.maxcpu === undefined ||
    r.maxdisk === undefined ||
    r.template === undefined
  )
    return undefined;
  const status = r.status ?? 'unknown';
  const running = status === 'running';
  if (!running && (prev.flags & ADDRESS) !== 0) return undefined;
  const row: VmInventoryRecord = {
    clusterId,
    vmid: r.vmid,
    name: r.name,
    node: r.node,
    status,
    ip: running ? prev.ip : null,
    type: r.type === 'lxc' ? 'lxc' : 'qemu',
    category: 'other',
    memory: Math.round(r.maxmem / 1024 / 1024),
    cores: r.maxcpu,
    diskSize: r.maxdisk,
    uptime: r.uptime ?? 0,
    cpuUsage: r.cpu ?? 0,
    memoryUsage: r.maxmem ? (r.mem ?? 0) / r.maxmem : 0,
    isTemplate: Number(r.template) === 1,
    tags: r.tags ?? '',
    rdpAvailable: running && (prev.flags & VM_SYNC_FLAGS.rdp) !== 0,
    sshAvailable: running && (prev.flags & VM_SYNC_FLAGS.ssh) !== 0,
    lastUpdated: now,
    lastStatusCheck: null,
    syncError: null,
    goneAt: null,
  };
  if (vmSyncKey(row) !== prev.syncKey || isStartingUnreached(row)) return undefined;
  return { row, change: 'none', readConfig: false, readAgent: false };
}

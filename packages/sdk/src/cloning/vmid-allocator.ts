import { rootApi } from '../pve/budgeted-api.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { DOMAIN_RETRY } from '../tasks/domain-retry.js';
import { VmidAllocationError } from './clone-errors.js';

const reservations = new WeakMap<PveApi, Set<number>>();

/** VMIDs this process has handed out for `api` and not yet released. */
function reservedFor(api: PveApi): Set<number> {
  let set = reservations.get(rootApi(api));
  if (!set) {
    set = new Set();
    reservations.set(rootApi(api), set);
  }
  return set;
}

/** A reserved VMID; release it once the VM exists (or the clone gave up). */
export interface VmidReservation {
  vmid: number;
  release(): void;
}

/**
 * Allocates VMIDs for new VMs. PVE's `cluster.nextId()` reserves nothing, so ids handed out to
 * clones still in flight in this process are skipped, and every candidate is checked with
 * `cluster.isVmidFree(N)` before it is returned. (Another process can still race; callers retry
 * on PVE's "already exists" error with a fresh id.)
 */
export async function allocateVmid(
  api: PveApi,
  options: { preferred?: number; maxAttempts?: number } = {},
): Promise<VmidReservation> {
  const reserved = reservedFor(api);
  const cluster = pveResources(api).cluster;
  // An id is held in `reserved` while PVE is asked whether it is free, so two clones of this
  // process that reach the same candidate at once never both take it.
  const tryReserve = async (vmid: number, checked: boolean): Promise<VmidReservation | undefined> => {
    if (reserved.has(vmid)) return undefined;
    reserved.add(vmid);
    let free = checked;
    try {
      free ||= await cluster.isVmidFree(vmid);
    } finally {
      if (!free) reserved.delete(vmid);
    }
    return free ? { vmid, release: () => reserved.delete(vmid) } : undefined;
  };
  if (options.preferred !== undefined) {
    const reservation = await tryReserve(options.preferred, false);
    if (!reservation) {
      throw new VmidAllocationError({
        clusterId: api.clusterId,
        attempts: 1,
        lastError: `VMID ${options.preferred} is already taken`,
      });
    }
    return reservation;
  }
  const maxAttempts = options.maxAttempts ?? DOMAIN_RETRY.vmidSearch.attempts;
  // An id reserved here when nextid was asked may have been released (its VM made) before the
  // answer came back: nextid's answer is then stale and must be checked like any other.
  const reservedWhenAsked = new Set(reserved);
  let candidate = await cluster.nextId();
  // nextid's own answer is free as far as PVE knows; any id we move on to must be checked.
  let checked = !reservedWhenAsked.has(candidate);
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const reservation = await tryReserve(candidate, checked);
    if (reservation) return reservation;
    candidate++;
    checked = false;
  }
  throw new VmidAllocationError({
    clusterId: api.clusterId,
    attempts: maxAttempts,
    lastError: `no free VMID found from ${candidate - maxAttempts}`,
  });
}

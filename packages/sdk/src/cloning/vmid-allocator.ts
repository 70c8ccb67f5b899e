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
  const reserve = (vmid: number): VmidReservation => {
    reserved.add(vmid);
    return { vmid, release: () => reserved.delete(vmid) };
  };
  if (options.preferred !== undefined) {
    if (reserved.has(options.preferred) || !(await cluster.isVmidFree(options.preferred))) {
      throw new VmidAllocationError({
        clusterId: api.clusterId,
        attempts: 1,
        lastError: `VMID ${options.preferred} is already taken`,
      });
    }
    return reserve(options.preferred);
  }
  const maxAttempts = options.maxAttempts ?? DOMAIN_RETRY.vmidSearch.attempts;
  let candidate = await cluster.nextId();
  // nextid's own answer is free as far as PVE knows; any id we move on to must be checked.
  let checked = true;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (!reserved.has(candidate) && (checked || (await cluster.isVmidFree(candidate)))) return reserve(candidate);
    candidate++;
    checked = false;
  }
  throw new VmidAllocationError({
    clusterId: api.clusterId,
    attempts: maxAttempts,
    lastError: `no free VMID found from ${candidate - maxAttempts}`,
  });
}

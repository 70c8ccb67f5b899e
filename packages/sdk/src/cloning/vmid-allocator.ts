import { z } from 'zod';
import { PveHttpError } from '../errors/pve-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import { VmidAllocationError } from './clone-errors.js';

const reservations = new WeakMap<PveApi, Set<number>>();

/** VMIDs this process has handed out for `api` and not yet released. */
function reservedFor(api: PveApi): Set<number> {
  let set = reservations.get(api);
  if (!set) {
    set = new Set();
    reservations.set(api, set);
  }
  return set;
}

const nextIdSchema = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number);

/** A reserved VMID; release it once the VM exists (or the clone gave up). */
export interface VmidReservation {
  vmid: number;
  release(): void;
}

/**
 * Allocates VMIDs for new VMs. PVE's `/cluster/nextid` reserves nothing, so ids handed out to
 * clones still in flight in this process are skipped, and every candidate is checked with
 * `/cluster/nextid?vmid=N` before it is returned. (Another process can still race; callers retry
 * on PVE's "already exists" error with a fresh id.)
 */
export async function allocateVmid(api: PveApi, options: { preferred?: number; maxAttempts?: number } = {}): Promise<VmidReservation> {
  const reserved = reservedFor(api);
  const reserve = (vmid: number): VmidReservation => {
    reserved.add(vmid);
    return { vmid, release: () => reserved.delete(vmid) };
  };
  if (options.preferred !== undefined) {
    if (reserved.has(options.preferred) || !(await isFree(api, options.preferred))) {
      throw new VmidAllocationError({ clusterId: api.clusterId, attempts: 1, lastError: `VMID ${options.preferred} is already taken` });
    }
    return reserve(options.preferred);
  }
  const maxAttempts = options.maxAttempts ?? 50;
  let candidate = await api.get('/cluster/nextid', undefined, { schema: nextIdSchema });
  // nextid's own answer is free as far as PVE knows; any id we move on to must be checked.
  let checked = true;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (!reserved.has(candidate) && (checked || (await isFree(api, candidate)))) return reserve(candidate);
    candidate++;
    checked = false;
  }
  throw new VmidAllocationError({ clusterId: api.clusterId, attempts: maxAttempts, lastError: `no free VMID found from ${candidate - maxAttempts}` });
}

async function isFree(api: PveApi, vmid: number): Promise<boolean> {
  try {
    await api.get('/cluster/nextid', { vmid }, { schema: nextIdSchema });
    return true;
  } catch (error) {
    if (error instanceof PveHttpError && error.status === 400 && error.errors.vmid) return false;
    throw error;
  }
}

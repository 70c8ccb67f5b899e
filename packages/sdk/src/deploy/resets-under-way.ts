import type { Store } from '../store/store.js';
import { isResetPlan } from './vm-reset.js';

/** A student VM a reset is re-creating right now: destroyed, or cloned but not yet registered. */
export interface ResetUnderWay {
  deploymentId: string;
  classId: string;
  clusterId: string;
  /** The VM's name (`cs101-alice`), kept through the reset. */
  name: string;
  /** The VMID the store names for it (the old one until the new VM is registered). */
  vmid: number | null;
  personId: number | null;
  /** When the reset was asked for. */
  since: number;
}

const SETTLED = new Set(['done', 'failed', 'deleted']);

/**
 * The student VMs unfinished resets have not re-created yet, from the store (their deployments and
 * items), optionally only `personId`'s. While one is listed its VM may be missing from the cluster
 * and the inventory; commands say it is being reset rather than that it does not exist.
 */
export async function resetsUnderWay(store: Store, filter: { personId?: number } = {}): Promise<ResetUnderWay[]> {
  const out: ResetUnderWay[] = [];
  for (const deployment of await store.deployments.unfinished()) {
    if (!isResetPlan(deployment.spec)) continue;
    for (const item of await store.deployments.items(deployment.id)) {
      if (item.kind !== 'student' || SETTLED.has(item.status)) continue;
      if (filter.personId !== undefined && item.personId !== filter.personId) continue;
      out.push({
        deploymentId: deployment.id,
        classId: deployment.classId,
        clusterId: deployment.clusterId,
        name: item.name,
        vmid: item.vmid,
        personId: item.personId,
        since: deployment.createdAt,
      });
    }
  }
  return out;
}

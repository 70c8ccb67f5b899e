import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord } from '../store/records.js';
import { completeFreshResources, listVmResources, type VmResource } from '../templates/template-inventory.js';
import { classAssignments, hasClassTag, readCreationMarker } from './class-ownership.js';
import type { SummaryVm } from './deployment-summary.js';
import { destroyGuest, type TeardownDeps } from './deployment-teardown.js';
import { settled } from './deployment-timing.js';
import type { ClassPlan } from './plan-class.js';

/** Where the cluster and the store disagree after a deployment, and the leftovers removed on the way. */
export interface ReconcileResult {
  orphans: SummaryVm[];
  unregistered: SummaryVm[];
  duplicates: string[];
  /** Items recorded as done whose VM the cluster does not have. */
  missing: string[];
  removed: SummaryVm[];
}

/**
 * Compares the store with the cluster after a run: every item that is done exists, every VM
 * tagged for the class is registered, no name is taken twice. Leftovers we created (our
 * creation marker, unregistered) are removed; anything else is reported, never deleted.
 */
export async function reconcileDeployment(
  deps: TeardownDeps,
  api: PveApi,
  plan: ClassPlan,
  deploymentId: string,
  items: DeploymentItemRecord[],
): Promise<ReconcileResult> {
  const classId = plan.spec.classId;
  const resources = await completeFreshResources(api, await listVmResources(api));
  const assignments = await classAssignments(deps.store, plan.clusterId, classId);
  const present = new Map(resources.filter((r) => r.type === 'qemu').map((r) => [r.vmid, r]));
  const summaryVm = (r: VmResource): SummaryVm => ({ vmid: r.vmid, node: r.node, name: r.name ?? `VM ${r.vmid}` });
  const missing = items
    .filter((i) => i.status === 'done' && i.kind !== 'delete' && (i.vmid === null || !present.has(i.vmid)))
    .map((i) => i.name);
  const accounted = new Set(items.filter((i) => i.status === 'done' && i.vmid !== null).map((i) => i.vmid!));
  const orphans: SummaryVm[] = [];
  const unregistered: SummaryVm[] = [];
  const removed: SummaryVm[] = [];
  for (const r of resources.filter((x) => x.type === 'qemu' && hasClassTag(x, classId))) {
    if (assignments.has(r.vmid) || accounted.has(r.vmid)) continue;
    const state = await settled(deps.timing, api, r.vmid).catch(() => undefined);
    const marker = readCreationMarker(state?.config.description);
    if (state && marker?.classId === classId && Number(state.config.template) !== 1) {
      await destroyGuest(deps, api, plan.clusterId, state.node, r.vmid);
      removed.push(summaryVm(r));
    } else orphans.push(summaryVm(r));
  }
  for (const item of items.filter((i) => i.status === 'failed' && i.vmid !== null)) {
    const r = present.get(item.vmid!);
    if (r && !assignments.has(r.vmid) && !removed.some((x) => x.vmid === r.vmid)) unregistered.push(summaryVm(r));
  }
  for (const vmid of accounted) {
    const r = present.get(vmid);
    if (r && !assignments.has(vmid) && !items.some((i) => i.vmid === vmid && i.kind === 'delete'))
      unregistered.push(summaryVm(r));
  }
  const names = new Map<string, number>();
  for (const r of resources.filter(
    (x) => x.type === 'qemu' && x.name && (assignments.has(x.vmid) || hasClassTag(x, classId)),
  )) {
    const key = Number(r.template) === 1 ? `${r.name}@${r.node}` : r.name!;
    names.set(key, (names.get(key) ?? 0) + 1);
  }
  const duplicates = [...names].filter(([, n]) => n > 1).map(([name]) => name);
  if (orphans.length || unregistered.length || duplicates.length || missing.length)
    deps.timing.logger.warn('the cluster does not match the deployment', {
      deploymentId,
      orphans,
      unregistered,
      duplicates,
      missing,
    });
  return { orphans, unregistered, duplicates, missing, removed };
}

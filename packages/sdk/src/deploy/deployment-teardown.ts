import { PveHttpError } from '../errors/pve-errors.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { DeploymentItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { listVmResources } from '../templates/template-inventory.js';
import { baseVersionUsage } from './publish-base.js';
import { InvalidDeploymentError } from './class-spec.js';
import { baseVmName } from '../templates/class-vm-names.js';
import { classAssignments, ownedByClass, readCreationMarker } from './class-ownership.js';
import type { DeploymentEvent } from './deployment-events.js';
import type { SummaryVm } from './deployment-summary.js';
import { taskOptions, type DeploymentTiming } from './deployment-timing.js';
import { settledGuest } from './guest-state.js';

/** What removing VMs needs: the store they are taken out of and how long to wait for PVE. */
export interface TeardownDeps {
  store: Store;
  timing: DeploymentTiming;
}

/** Stops (if running) and purges one VM, and takes it out of the store. */
export async function destroyGuest(
  deps: TeardownDeps,
  api: PveApi,
  clusterId: string,
  node: string,
  vmid: number,
): Promise<void> {
  const status = await pveResources(api)
    .qemu(node, vmid)
    .status()
    .catch((error: unknown) => {
      if (error instanceof PveHttpError && /does not exist/.test(error.pveMessage)) return undefined;
      throw error;
    });
  if (status) {
    if (status.status === 'running')
      await waitForTask(api, await pveResources(api).qemu(node, vmid).stop(), taskOptions(deps.timing, 300_000));
    await waitForTask(
      api,
      await pveResources(api).qemu(node, vmid).delete({ purge: true, 'destroy-unreferenced-disks': true }),
      taskOptions(deps.timing, 600_000),
    );
  }
  await deps.store.transaction(async (tx) => {
    await tx.classes.unassignVm(clusterId, vmid);
    await tx.inventory.update(clusterId, vmid, { goneAt: deps.timing.clock.now() });
  });
}

/** Stops and purges one VM wherever it is on the cluster, forgets it and records who did it. */
export async function destroyVm(
  deps: TeardownDeps,
  api: PveApi,
  clusterId: string,
  vmid: number,
  actor: string,
): Promise<void> {
  const vm = (await listVmResources(api)).find((r) => r.vmid === vmid);
  await destroyGuest(deps, api, clusterId, vm?.node ?? '', vmid);
  await deps.store.audit.record({
    at: deps.timing.clock.now(),
    actor,
    action: 'vm.destroy',
    target: `${clusterId}/${vmid}`,
    outcome: 'ok',
    details: {},
  });
}

/**
 * Carries out a delete item of a scale-down: the VM is destroyed only while it is still the
 * class's (tags, marker or assignment); one that moved to another owner fails the item instead.
 */
export async function deleteItem(
  deps: TeardownDeps,
  api: PveApi,
  run: { clusterId: string; classId: string; deploymentId: string; emit: (e: DeploymentEvent) => void },
  item: DeploymentItemRecord,
): Promise<void> {
  const { clusterId, classId, deploymentId } = run;
  if (item.vmid !== null) {
    const resource = (await listVmResources(api)).find((r) => r.vmid === item.vmid);
    const assignments = await classAssignments(deps.store, clusterId, classId);
    if (resource && !ownedByClass({ vmid: resource.vmid, tags: resource.tags }, classId, assignments))
      throw new InvalidDeploymentError(
        `${item.name} (${item.vmid}) no longer belongs to ${classId}; it was left alone`,
      );
    if (resource) await destroyGuest(deps, api, clusterId, resource.node, item.vmid);
  }
  await deps.store.deployments.updateItem(deploymentId, item.name, {
    status: 'deleted',
    updatedAt: deps.timing.clock.now(),
  });
  run.emit({ type: 'deleted', deploymentId, name: item.name, vmid: item.vmid ?? 0 });
}

/** Removes the VM a failed item made, when it is ours (its marker names this deployment) and unregistered. */
export async function removeHalfMade(
  deps: TeardownDeps,
  api: PveApi,
  clusterId: string,
  deploymentId: string,
  itemName: string,
): Promise<SummaryVm | undefined> {
  const { store, timing } = deps;
  const vmid = (await store.deployments.items(deploymentId)).find((i) => i.name === itemName)?.vmid ?? null;
  if (vmid === null || (await store.classes.assignment(clusterId, vmid))) return undefined;
  const state = await settledGuest(api, vmid, {
    clock: timing.clock,
    pollIntervalMs: timing.pollIntervalMs,
    deadline: timing.clock.now() + 10 * 60_000,
  });
  if (
    !state ||
    readCreationMarker(state.config.description)?.deploymentId !== deploymentId ||
    Number(state.config.template) === 1
  )
    return undefined;
  await destroyGuest(deps, api, clusterId, state.node, vmid);
  await store.deployments.updateItem(deploymentId, itemName, { vmid: null, updatedAt: timing.clock.now() });
  timing.logger.info('removed the half-made VM of a failed item', { name: itemName, vmid });
  return { vmid, node: state.node, name: String(state.config.name ?? itemName) };
}

/**
 * Deletes the copies of the class's older base versions that no VM's disks are linked to any more
 * ({@link baseVersionUsage}: on lvm-thin, the students its deployments cloned from it). On zfspool,
 * rbd and dir PVE also refuses to delete a base a linked clone uses, one the lab does not know of
 * too, as a failed delete task on PVE 9; that refusal keeps the copy and pruning goes on. On lvm-thin
 * PVE deletes it and such a clone keeps working (pve-sim BEHAVIOURS.md §T1a). Returns how many.
 */
export async function pruneOldBases(
  deps: TeardownDeps,
  api: PveApi,
  run: { clusterId: string; classId: string; deploymentId: string; emit: (e: DeploymentEvent) => void },
): Promise<number> {
  const { store, timing } = deps;
  const { clusterId, classId, deploymentId, emit } = run;
  const usage = await baseVersionUsage(store, api, clusterId, classId);
  let deleted = 0;
  for (const v of usage.filter((u) => !u.current && u.users.length === 0)) {
    let kept = 0;
    for (const [node, vmid] of Object.entries(v.copies)) {
      try {
        await destroyGuest(deps, api, clusterId, node, vmid);
      } catch (error) {
        // PVE 9 refuses inside the delete task, older answers at once: the same refusal either way.
        if (classifyPveFailure(error)?.reason === 'base-volume-in-use') {
          timing.logger.info('kept an old base copy a linked clone still uses', { classId, node, vmid });
          kept++;
          continue;
        }
        throw error;
      }
      deleted++;
      emit({ type: 'deleted', deploymentId, name: `${v.name}@${node}`, vmid });
      const rest = (await store.templateInventory.list({ clusterId }))
        .filter((t) => !(t.node === node && t.vmid === vmid))
        .map((t) => ({ node: t.node, vmid: t.vmid }));
      await store.templateInventory.markVanished(clusterId, rest, timing.clock.now());
      const template = await store.templates.getByName(v.name);
      if (template) {
        await store.templates.removeMapping(template.id, clusterId, node);
        if ((await store.templates.mappings(template.id)).length === 0) await store.templates.delete(template.id);
      }
    }
    if (kept === 0) {
      await store.classLifecycle.removeBaseVersion(classId, v.version);
      await store.audit.record({
        at: timing.clock.now(),
        actor: 'system',
        action: 'class.base-version.delete',
        target: classId,
        outcome: 'ok',
        details: { version: v.version, name: v.name },
      });
      timing.logger.info('removed an unused old base version', { classId, name: v.name });
    }
  }
  return deleted;
}

/**
 * Stops and purges every VM of a class on `clusterIds` — found by its exact tags or the store's
 * assignments, never by name — linked clones before the base templates, then forgets the class's
 * templates and base versions and records who did it. Safe to run again after an interruption.
 */
export async function destroyClassVms(
  deps: TeardownDeps & { clusters: ClusterApis },
  classId: string,
  clusterIds: string[],
  options: { actor?: string; onEvent?: (e: DeploymentEvent) => void },
): Promise<{ destroyed: number[] }> {
  const { store, timing } = deps;
  const destroyed: number[] = [];
  for (const clusterId of clusterIds) {
    const api = deps.clusters.get(clusterId);
    const assignments = await classAssignments(store, clusterId, classId);
    const vms = (await listVmResources(api)).filter(
      (r) => r.type === 'qemu' && ownedByClass({ vmid: r.vmid, tags: r.tags }, classId, assignments),
    );
    const ordered = [...vms.filter((v) => Number(v.template) !== 1), ...vms.filter((v) => Number(v.template) === 1)];
    for (const vm of ordered) {
      await destroyGuest(deps, api, clusterId, vm.node, vm.vmid);
      destroyed.push(vm.vmid);
      options.onEvent?.({ type: 'deleted', deploymentId: '', name: vm.name ?? String(vm.vmid), vmid: vm.vmid });
    }
  }
  await forgetClassTemplates(store, classId, clusterIds, timing.clock.now());
  await store.audit.record({
    at: timing.clock.now(),
    actor: options.actor ?? 'system',
    action: 'class.destroy',
    target: classId,
    outcome: 'ok',
    details: { destroyed },
  });
  return { destroyed };
}

/**
 * Forgets a class's templates once its VMs are gone: its entries in the template inventory become
 * vanished, and its base template and published versions leave the catalog (PVE hands their VMIDs
 * out again, so a kept entry could come to name someone else's VM). Safe to run again.
 */
export async function forgetClassTemplates(
  store: Store,
  classId: string,
  clusterIds: readonly string[],
  now: number,
): Promise<void> {
  for (const clusterId of clusterIds) {
    const others = (await store.templateInventory.list({ clusterId }))
      .filter((t) => t.classId !== classId)
      .map((t) => ({ node: t.node, vmid: t.vmid }));
    await store.templateInventory.markVanished(clusterId, others, now);
  }
  // The class's base and, with a lab definition, each role's (`cs101-target-base`).
  const roles = (await store.labDefinitions.get(classId))?.roles.map((r) => r.name) ?? [];
  for (const name of [baseVmName(classId), ...roles.map((r) => baseVmName(classId, r))]) {
    const base = await store.templates.getByName(name);
    if (base) await store.templates.delete(base.id);
  }
  for (const v of await store.classLifecycle.baseVersions(classId)) {
    await store.classLifecycle.removeBaseVersion(classId, v.version);
    const published = v.version > 1 ? await store.templates.getByName(v.name) : undefined;
    if (published) await store.templates.delete(published.id);
  }
}

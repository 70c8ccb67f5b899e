import type { RetryBudget } from '../ports/retry-budget.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { sameTags } from '../pve/pve-tags.js';
import { CloneMissingDiskError, VmidAllocationError } from '../cloning/clone-errors.js';
import { cloneVm } from '../cloning/clone-vm.js';
import { LabError } from '../errors/lab-error.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { inventoryRowFromConfig } from '../inventory/inventory-row.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { BaseVersionCopies } from './base-versions.js';
import { classTags, labRoleTag } from '../templates/class-vm-names.js';
import { creationMarker, hasClassTag, readCreationMarker } from './class-ownership.js';
import type { DeploymentEvent } from './deployment-events.js';
import { guestWaits } from './guest-waits.js';
import { itemCloneOptions } from './item-clone-options.js';
import { pveResources } from '../pve/pve-resources.js';
import { markItemDone } from './deployment-items.js';
import { recordPowerState } from '../inventory/record-power-state.js';

/** One student VM a reset re-creates. */
export interface ResetVm {
  name: string;
  /** The VM's VMID before the reset; the new VM gets the same one where PVE allows it. */
  vmid: number;
  personId: number | null;
  owner: string | null;
  node: string;
  /** Start the new VM at the end (the old one was running). */
  start: boolean;
}

/** What `planReset` found: the VMs to re-create and the base version they are re-created from. */
export interface ResetPlan {
  kind: 'reset';
  classId: string;
  clusterId: string;
  requestedBy: string;
  base: BaseVersionCopies;
  vms: ResetVm[];
  /** The lab role the VMs play (`target`), re-tagged with it; none for a class with one unnamed role. */
  labRole?: string;
  /** The command that asked for it (`/lab rebuild` re-creates every student VM), to name it in progress and summaries. @defaultValue 'reset' */
  action?: 'reset' | 'rebuild';
}

/** Whether a stored deployment spec is a reset. */
export function isResetPlan(spec: unknown): spec is ResetPlan {
  return typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'reset';
}

/** A reset cannot be planned or carried out; says why. */
export class VmResetError extends LabError {
  static override readonly code: string = 'LAB_RESET_INVALID';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(VmResetError.code, message, data);
  }
}

/**
 * Per-student configuration applied to a student VM before its first boot (cloud-init). Must be
 * idempotent: a resumed deployment or reset applies it again. Returns the config as it now is.
 */
export type ConfigureStudentVm = (
  api: PveApi,
  input: {
    classId: string;
    clusterId: string;
    node: string;
    vmid: number;
    personId: number | null;
    config: Record<string, unknown>;
    /** The VM's class role; a step that only knows student VMs reads absent as `student`. */
    role?: 'student' | 'teacher';
  },
) => Promise<Record<string, unknown>>;

/** What re-creating one VM needs. */
export interface ResetDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  pollIntervalMs: number;
  cloneTimeoutMs: number;
  configure?: ConfigureStudentVm | undefined;
  /** The deployment's retry budget, also charged for a clone resent after a lost answer. */
  retryBudget?: RetryBudget | undefined;
}

/**
 * Re-creates one student VM from the reset's base version, crash-safely: the old VM is destroyed
 * only while the item still names it (its VMID is in the store from the start), the clone reuses
 * that VMID and carries the reset's creation marker, so a process that takes the reset over sees
 * which of the two VMs exists and goes on from there. The student's assignment is never removed:
 * it names the old VMID until the new VM is registered (and it is the same VMID in the usual case).
 */
export async function resetOneVm(
  deps: ResetDeps,
  api: PveApi,
  plan: ResetPlan,
  deploymentId: string,
  item: DeploymentItemRecord,
  emit: (e: DeploymentEvent) => void,
): Promise<void> {
  const vm = plan.vms.find((v) => v.name === item.name);
  if (!vm) throw new VmResetError(`the reset has no VM named ${item.name}`);
  const { settled, task } = guestWaits(api, deps);
  const currentVmid = item.vmid ?? vm.vmid;
  let state = await settled(currentVmid);
  const isNew = state !== undefined && readCreationMarker(state.config.description)?.deploymentId === deploymentId;
  if (!isNew) {
    if (state) {
      // The old VM: destroy it only while it is still this student's VM of the class.
      const assignment = await deps.store.classes.assignment(plan.clusterId, currentVmid);
      const ours =
        assignment?.classId === plan.classId &&
        assignment.personId === vm.personId &&
        Number(state.config.template) !== 1;
      if (!ours && !hasClassTag({ tags: state.config.tags }, plan.classId))
        throw new VmResetError(
          `${item.name} (${currentVmid}) is no longer ${vm.owner ?? 'the student'}'s VM of ${plan.classId}; it was left alone`,
          { vmid: currentVmid },
        );
      emit({ type: 'deleted', deploymentId, name: item.name, vmid: currentVmid });
      const status = await pveResources(api).qemu(state.node, currentVmid).status();
      if (status.status !== 'stopped')
        await task(await pveResources(api).qemu(state.node, currentVmid).stop(), 300_000);
      await task(
        await pveResources(api)
          .qemu(state.node, currentVmid)
          .delete({ purge: true, 'destroy-unreferenced-disks': true }),
        600_000,
      );
      await deps.store.inventory.update(plan.clusterId, currentVmid, { status: 'resetting' });
      await deps.store.usage.closeInterval(plan.clusterId, currentVmid, deps.clock.now());
    }
    const source =
      vm.node in plan.base.copies ? { node: vm.node, vmid: plan.base.copies[vm.node]! } : firstCopy(plan.base);
    emit({ type: 'cloning', deploymentId, name: item.name, node: source.node, vmid: currentVmid });
    const clone = (newid?: number) =>
      cloneVm(api, {
        source,
        name: vm.name,
        ...(newid !== undefined ? { newid } : {}),
        mode: 'auto',
        description: creationMarker(plan.classId, 'student', deploymentId),
        ...itemCloneOptions(deps, deploymentId, item),
      });
    const result = await clone(currentVmid).catch((error: unknown) => {
      // Someone took the VMID between the destroy and the clone (seen by our allocator, by PVE on this
      // node or another, or as its config lock held by that other clone): any free one will do.
      const reason = classifyPveFailure(error)?.reason;
      if (error instanceof VmidAllocationError || reason === 'vmid-taken' || reason === 'lock-timeout') {
        deps.logger.warn('the VMID of a reset VM was taken; using another', { name: item.name, vmid: currentVmid });
        return clone();
      }
      throw error;
    });
    state = await settled(result.vmid);
    if (!state) throw new VmResetError(`${item.name} (${result.vmid}) disappeared right after its clone`);
  }
  const vmid = item.vmid ?? currentVmid;
  emit({ type: 'verifying', deploymentId, name: item.name, vmid });
  await deps.store.deployments.updateItem(deploymentId, item.name, {
    status: 'verifying',
    vmid,
    node: state!.node,
    updatedAt: deps.clock.now(),
  });
  let config = state!.config;
  const node = state!.node;
  if (!findBootDisk(config))
    throw new CloneMissingDiskError({
      clusterId: plan.clusterId,
      node,
      vmid,
      sourceVmid: firstCopy(plan.base).vmid,
      config,
    });
  if (deps.configure)
    config = await deps.configure(api, {
      classId: plan.classId,
      clusterId: plan.clusterId,
      node,
      vmid,
      personId: vm.personId,
      config,
    });
  const tags = classTags(plan.classId, 'student', ...(plan.labRole ? [labRoleTag(plan.labRole)] : []));
  if (!sameTags(config.tags, tags)) await pveResources(api).qemu(node, vmid).updateConfig({ tags });
  config = { ...config, tags };
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (vmid !== vm.vmid) {
      await tx.classes.unassignVm(plan.clusterId, vm.vmid);
      await tx.inventory.update(plan.clusterId, vm.vmid, { goneAt: now });
    }
    await tx.inventory.upsertMany([
      // A new clone has no snapshots (a reset's old VM took its own with it).
      {
        ...inventoryRowFromConfig({ clusterId: plan.clusterId, node, vmid, now }, config, findBootDisk(config)?.key),
        snapshots: 0,
      },
    ]);
    await tx.classes.assignVm(
      { clusterId: plan.clusterId, vmid, personId: vm.personId, classId: plan.classId, role: 'student' },
      now,
    );
    await markItemDone(tx, deploymentId, item.name, { vmid, node }, now);
    // Under the VM itself (the deployment's entry names the class), with the item's completion, so
    // `/myvm status` and the grid tell its owner who reset it last.
    await tx.audit.record({
      at: now,
      actor: plan.requestedBy,
      action: 'vm.reset',
      target: `${plan.clusterId}/${vmid}`,
      outcome: 'ok',
      details: { deploymentId, base: plan.base.name },
    });
  });
  emit({ type: 'registered', deploymentId, name: item.name, vmid, node, adopted: isNew });
  if (vm.start) {
    const status = await pveResources(api).qemu(node, vmid).status();
    if (status.status !== 'running') await task(await pveResources(api).qemu(node, vmid).start(), 300_000);
    await recordPowerState(deps.store, { clusterId: plan.clusterId, vmid }, 'running', deps.clock.now());
  }
}

function firstCopy(base: BaseVersionCopies): { node: string; vmid: number } {
  const [node, vmid] = Object.entries(base.copies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0] ?? [];
  if (node === undefined || vmid === undefined) throw new VmResetError(`${base.name} has no copy on the cluster`);
  return { node, vmid };
}

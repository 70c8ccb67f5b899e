import { findBootDisk } from '../cloning/boot-disk.js';
import { inventoryRowFromConfig } from '../inventory/inventory-row.js';
import { UnknownVmError } from '../inventory/inventory-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import type { Store } from '../store/store.js';
import { InvalidDeploymentError } from './class-spec.js';
import { classTags } from '../templates/class-vm-names.js';
import { settled, type DeploymentTiming } from './deployment-timing.js';
import { tagAndConvert } from './vm-registration.js';

/** Which VM `adoptVm` takes into which class, and for whom. */
export interface AdoptVmRequest {
  clusterId: string;
  vmid: number;
  classId: string;
  /** @defaultValue `'student'` */
  role?: 'student' | 'teacher';
  /** The student the VM is assigned to. */
  personId?: number | null;
  actor?: string;
}

/**
 * Takes an existing VM into a class explicitly (`lab adopt`): tags it for the class and role,
 * registers it in the inventory and assigns it. A template, or a VM of another class, is refused.
 */
export async function adoptVm(
  deps: { store: Store; timing: DeploymentTiming },
  api: PveApi,
  input: AdoptVmRequest,
): Promise<{ node: string; name: string }> {
  const state = await settled(deps.timing, api, input.vmid);
  if (!state) throw new UnknownVmError(input.clusterId, input.vmid);
  if (Number(state.config.template) === 1)
    throw new InvalidDeploymentError(`VM ${input.vmid} is a template; only VMs can be adopted`, { vmid: input.vmid });
  const role = input.role ?? 'student';
  const other = await deps.store.classes.assignment(input.clusterId, input.vmid);
  if (other?.classId && other.classId !== input.classId)
    throw new InvalidDeploymentError(
      `VM ${input.vmid} belongs to class ${other.classId}; it cannot be adopted by ${input.classId}`,
      { vmid: input.vmid },
    );
  const tags = classTags(input.classId, role);
  await tagAndConvert(deps.timing, api, state, input.vmid, tags, false);
  const now = deps.timing.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.inventory.upsertMany([
      inventoryRowFromConfig(
        { clusterId: input.clusterId, node: state.node, vmid: input.vmid, now },
        { ...state.config, tags },
        findBootDisk(state.config)?.key,
      ),
    ]);
    await tx.classes.assignVm(
      {
        clusterId: input.clusterId,
        vmid: input.vmid,
        personId: input.personId ?? null,
        classId: input.classId,
        role,
      },
      now,
    );
    await tx.audit.record({
      at: now,
      actor: input.actor ?? 'system',
      action: 'vm.adopt',
      target: `${input.clusterId}/${input.vmid}`,
      outcome: 'ok',
      details: { classId: input.classId, role, personId: input.personId ?? null },
    });
  });
  return { node: state.node, name: String(state.config.name ?? input.vmid) };
}

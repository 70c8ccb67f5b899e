import type { DeploymentItemRecord, VmRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ClassSpecInput } from './class-spec.js';
import type { ClassPlan, PlannedVm } from './plan-class.js';

/** What a class deployment keeps as its spec in the store: the input and the plan made from it. */
export interface StoredSpec {
  spec: ClassSpecInput;
  plan: ClassPlan;
}

/** A deployment item with the role and the action the plan gave its VM. */
export type Item = DeploymentItemRecord & { role: VmRole | 'replica'; action: PlannedVm['action'] | 'replicate' };

/** The VMs a plan deletes, with their owners. */
export function deletesOf(plan: ClassPlan): Array<{ name: string; vmid: number | null; owner: string | null }> {
  return [plan.base, ...plan.vms]
    .filter((v) => v.action === 'delete')
    .map((v) => ({ name: v.name, vmid: v.vmid, owner: v.owner ?? null }));
}

/** The durable items of a plan: one per VM to create, keep or delete, one per base copy to make. */
export function itemsOf(deploymentId: string, plan: ClassPlan, now: number): DeploymentItemRecord[] {
  const items: DeploymentItemRecord[] = [];
  const names = new Set<string>();
  const push = (
    vm: Pick<PlannedVm, 'name' | 'personId' | 'node' | 'vmid'>,
    kind: DeploymentItemRecord['kind'],
  ): void => {
    const name = names.has(vm.name) ? `${vm.name}#${vm.vmid}` : vm.name;
    names.add(name);
    items.push({
      deploymentId,
      name,
      kind,
      personId: vm.personId,
      node: vm.node,
      vmid: vm.vmid,
      status: 'pending',
      attempt: 0,
      error: null,
      updatedAt: now,
    });
  };
  push(plan.base, 'base');
  for (const node of plan.replicateBaseTo)
    push({ name: `${plan.base.name}@${node}`, personId: null, node, vmid: null }, 'replica');
  for (const vm of plan.vms) push(vm, vm.action === 'delete' ? 'delete' : vm.role);
  return items;
}

/** A stored item with the role and action of its planned VM. */
export function annotate(record: DeploymentItemRecord, plan: ClassPlan): Item {
  const role: Item['role'] =
    record.kind === 'delete' ? (plan.vms.find((v) => v.vmid === record.vmid)?.role ?? 'student') : record.kind;
  const planned = [plan.base, ...plan.vms].find((v) => v.name === record.name);
  const action: Item['action'] =
    record.kind === 'delete' ? 'delete' : record.kind === 'replica' ? 'replicate' : (planned?.action ?? 'create');
  return { ...record, role, action };
}

/** Records in `tx` that the item `name` of deployment `deploymentId` ended done, as VM `vmid` on `node`. */
export function markItemDone(
  tx: Store,
  deploymentId: string,
  name: string,
  where: { vmid: number; node: string },
  now: number,
): Promise<void> {
  return tx.deployments.updateItem(deploymentId, name, { status: 'done', ...where, error: null, updatedAt: now });
}

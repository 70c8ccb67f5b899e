import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Store } from '../store/store.js';
import { listVmResources } from '../templates/template-inventory.js';
import { pveResources } from '../pve/pve-resources.js';
import { currentBaseVersion } from './base-versions.js';
import { labRoleOfTags } from '../templates/class-vm-names.js';
import { VmResetError, type ResetPlan, type ResetVm } from './vm-reset.js';

/** What `planReset` re-creates: one student's VMs, several students', or every student VM of the class. */
export interface ResetRequest {
  classId: string;
  clusterId?: string;
  /** Usernames whose VMs are re-created; omit with `all`. */
  usernames?: string[];
  /** Every student VM of the class. */
  all?: boolean;
  /** Only this VM (a student with several). */
  vmid?: number;
  /**
   * Only the VMs of this lab role (`target`), re-created from the role's base; with `vmid`, the
   * VM's own role when left out. A class with several roles resets one role per plan.
   */
  labRole?: string;
  requestedBy?: string;
}

/**
 * What a reset would re-create: the students' VMs of the class (name, VMID, node, whether it
 * runs) and the class's newest base version they are cloned from. Nothing changes yet.
 */
export async function planReset(
  deps: { store: Store; clusters: ClusterApis },
  request: ResetRequest,
): Promise<ResetPlan> {
  const { classId } = request;
  const clusterId = request.clusterId ?? deps.clusters.ids()[0];
  if (!clusterId) throw new VmResetError('no cluster is configured');
  const resources = new Map((await listVmResources(deps.clusters.get(clusterId))).map((r) => [r.vmid, r]));
  const tagsOf = async (vmid: number) =>
    resources.get(vmid)?.tags ?? (await deps.store.inventory.get(clusterId, vmid))?.tags;
  const labRole =
    request.labRole ?? (request.vmid !== undefined ? labRoleOfTags(await tagsOf(request.vmid)) : undefined);
  const base = await currentBaseVersion(deps.store, clusterId, classId, labRole);
  if (!base)
    throw new VmResetError(
      `${classId}${labRole ? ` (role ${labRole})` : ''} has no base template yet; deploy the class first`,
      { classId, ...(labRole ? { labRole } : {}) },
    );
  const people = new Map<number, string>();
  for (const p of await deps.store.classes.listPeople()) people.set(p.id, p.username);
  const wanted = request.all ? undefined : new Set(request.usernames ?? []);
  const assignments = (await deps.store.classes.assignmentsOfClass(classId)).filter(
    (a) =>
      a.clusterId === clusterId &&
      a.role === 'student' &&
      a.personId !== null &&
      (request.vmid === undefined || a.vmid === request.vmid) &&
      (!wanted || wanted.has(people.get(a.personId) ?? '')),
  );
  const vms: ResetVm[] = [];
  for (const a of assignments.sort((x, y) => x.vmid - y.vmid)) {
    if (labRoleOfTags(await tagsOf(a.vmid)) !== labRole) continue;
    const r = resources.get(a.vmid);
    const row = await deps.store.inventory.get(clusterId, a.vmid);
    const name = r?.name ?? row?.name;
    const node = r?.node ?? row?.node;
    if (!name || !node) continue;
    vms.push({
      name,
      vmid: a.vmid,
      personId: a.personId,
      owner: people.get(a.personId!) ?? null,
      node,
      start: await runsNow(r?.status, () => pveResources(deps.clusters.get(clusterId)).qemu(node, a.vmid).status()),
    });
  }
  if (wanted) {
    const missing = [...wanted].filter((u) => !vms.some((v) => v.owner === u));
    if (missing.length)
      throw new VmResetError(
        `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no VM in ${classId} to reset`,
        { classId, missing },
      );
  }
  return {
    kind: 'reset',
    classId,
    clusterId,
    requestedBy: request.requestedBy ?? 'system',
    base,
    vms,
    ...(labRole ? { labRole } : {}),
  };
}

/**
 * Whether the VM runs: the cluster's list says so, except for a VM pvestatd has not reported yet
 * (status `unknown`, as for a clone made moments ago), whose own status is read.
 */
async function runsNow(listed: string | undefined, current: () => Promise<{ status: string }>): Promise<boolean> {
  if (listed === 'running' || listed === 'stopped') return listed === 'running';
  return (await current()).status === 'running';
}

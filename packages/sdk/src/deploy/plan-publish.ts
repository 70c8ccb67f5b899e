import { findBootDisk } from '../cloning/boot-disk.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import { listVmResources } from '../templates/template-inventory.js';
import { labRoleOfTags, labRolePrefix } from '../templates/class-vm-names.js';
import { baseVersionName, classBaseVersions } from './base-versions.js';
import type { PublishMode, PublishPlan } from './publish-base.js';
import { VmResetError } from './vm-reset.js';

/** What `planPublish` publishes: the class's teacher VM as its next base version. */
export interface PublishRequest {
  classId: string;
  clusterId?: string;
  note?: string;
  /** A running teacher VM: copy a snapshot of it, or shut it down cleanly first. @defaultValue `'shutdown'` */
  mode?: PublishMode;
  requestedBy?: string;
  /** The lab role whose teacher VM is published as the role's next base (`cs101-target-base-v2`). */
  labRole?: string;
}

/**
 * The next version of the class's base template, to be made from its teacher VM: name
 * (`cs101-base-v2`), whether the teacher VM runs (then `mode` says snapshot or shutdown), and the
 * nodes students are on that need a copy. Nothing changes yet.
 */
export async function planPublish(
  deps: { store: Store; clusters: ClusterApis },
  request: PublishRequest,
): Promise<PublishPlan> {
  const { classId, labRole } = request;
  const clusterId = request.clusterId ?? deps.clusters.ids()[0];
  if (!clusterId) throw new VmResetError('no cluster is configured');
  const api = deps.clusters.get(clusterId);
  const versions = await classBaseVersions(deps.store, clusterId, classId, labRole);
  if (versions.length === 0)
    throw new VmResetError(
      `${classId}${labRole ? ` (role ${labRole})` : ''} has no base template yet; deploy the class first`,
      { classId },
    );
  const assignments = (await deps.store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId);
  const resources = new Map(
    (await listVmResources(api)).filter((r) => labRoleOfTags(r.tags) === labRole).map((r) => [r.vmid, r]),
  );
  const teacherVm = assignments
    .filter((a) => a.role === 'teacher')
    .map((a) => resources.get(a.vmid))
    .find((r) => r !== undefined && Number(r.template) !== 1);
  if (!teacherVm)
    throw new VmResetError(`${classId} has no teacher VM to publish from; deploy the class first`, { classId });
  const version = Math.max(...versions.map((v) => v.version)) + 1;
  const running = teacherVm.status === 'running';
  const mode = request.mode ?? 'shutdown';
  const config = await pveResources(api).qemu(teacherVm.node, teacherVm.vmid).config();
  const disk = findBootDisk(config);
  const storages = disk ? await pveResources(api).storage(teacherVm.node).list({ storage: disk.storage }) : [];
  const shared = storages.find((x) => x.storage === disk?.storage)?.shared === 1;
  const studentNodes = new Set(
    assignments
      .filter((a) => a.role === 'student')
      .map((a) => resources.get(a.vmid)?.node)
      .filter((n): n is string => n !== undefined),
  );
  return {
    kind: 'publish',
    classId,
    clusterId,
    requestedBy: request.requestedBy ?? 'system',
    version,
    name: baseVersionName(labRolePrefix(classId, labRole), version),
    note: request.note ?? null,
    teacher: { vmid: teacherVm.vmid, node: teacherVm.node, name: teacherVm.name ?? String(teacherVm.vmid), running },
    mode,
    snapname: running && mode === 'snapshot' ? `lab-publish-v${version}` : null,
    replicateTo: shared ? [] : [...studentNodes].filter((n) => n !== teacherVm.node).sort(),
    ...(labRole ? { labRole } : {}),
  };
}

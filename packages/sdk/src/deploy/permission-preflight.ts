import { grants, type PermissionAnswer } from '../access/privilege-grants.js';
import { guestAgentPrivilege } from '../access/pve-privileges.js';
import { PveHttpError, PvePermissionError } from '../errors/pve-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import { hasCloudInitDrive } from '../cloning/cloud-init-drive.js';
import type { ClassPlan } from './plan-class.js';
import { pveResources } from '../pve/pve-resources.js';
import { readPveVersion } from '../pve/version-resource.js';

/** A privilege a request will need, on the ACL path PVE checks it on. */
export interface RequiredPrivilege {
  path: string;
  privilege: string;
}

/**
 * Stands for the guest-agent privilege of the cluster's PVE version (`VM.Monitor` on 8,
 * `VM.GuestAgent.Audit` on 9; see `guestAgentPrivilege`). Each exists on its own version only, so a
 * grant of either meets it without asking PVE its version first.
 */
const GUEST_AGENT_OF_THE_VERSION = 'VM.GuestAgent.Audit|VM.Monitor';

/**
 * Checks, with one `GET /access/permissions`, that the caller (the lab's token) has every
 * privilege in `needs`; throws `PvePermissionError` naming the first missing one and the cluster's
 * PVE version (`pveVersion`, else read from `GET /version` only then), before anything is changed.
 * A PVE that does not answer the endpoint (very old) is not checked.
 */
export async function assertPrivileges(
  api: PveApi,
  needs: readonly RequiredPrivilege[],
  pveVersion?: string,
): Promise<void> {
  let map: PermissionAnswer;
  try {
    map = await pveResources(api).access.permissions();
  } catch (error) {
    if (error instanceof PveHttpError && (error.status === 501 || error.status === 404)) return;
    throw error;
  }
  const granted = (need: RequiredPrivilege): boolean =>
    need.privilege === GUEST_AGENT_OF_THE_VERSION
      ? need.privilege.split('|').some((p) => grants(map, need.path, p))
      : grants(map, need.path, need.privilege);
  const missing = needs.find((need) => !granted(need));
  if (!missing) return;
  const version =
    pveVersion ??
    (await readPveVersion(api).then(
      (v) => v.version,
      () => undefined,
    ));
  const privilege =
    missing.privilege === GUEST_AGENT_OF_THE_VERSION ? guestAgentPrivilege(version ?? '9') : missing.privilege;
  throw new PvePermissionError({
    clusterId: api.clusterId,
    method: 'GET',
    path: '/access/permissions',
    pveMessage: `Permission check failed (${missing.path}, ${privilege})`,
    aclPath: missing.path,
    privilege,
    ...(version ? { pveVersion: version } : {}),
  });
}

/**
 * The privileges applying `plan` needs, where PVE checks them (qemu-server `clone_vm`, template,
 * config, migrate and destroy; pve-manager `cluster/resources` for node usage): `VM.Clone` on the
 * template, `VM.Allocate` on new VMs, `Datastore.AllocateSpace` on the storage, `SDN.Use` on every
 * bridge of the template (`sourceConfig`, the config of `plan.source`), `VM.Config.Options` for
 * tags, `VM.Config.Cloudinit` for students' logins, `Sys.Audit` on the nodes for placement, and the
 * guest-agent privilege of the cluster's version (`guestAgentPrivilege`) to find the new VMs' addresses.
 */
export function privilegesForPlan(plan: ClassPlan, sourceConfig: Record<string, unknown>): RequiredPrivilege[] {
  const needs: RequiredPrivilege[] = [];
  const add = (path: string, ...privileges: string[]): void => {
    for (const privilege of privileges)
      if (!needs.some((n) => n.path === path && n.privilege === privilege)) needs.push({ path, privilege });
  };
  const creates = [plan.base, ...plan.vms].some((v) => v.action === 'create') || plan.replicateBaseTo.length > 0;
  add('/nodes', 'Sys.Audit');
  add('/vms', 'VM.Audit');
  if (creates) {
    add(`/vms/${plan.source.vmid}`, 'VM.Clone');
    add('/vms', 'VM.Allocate', 'VM.Clone', 'VM.Config.Options', GUEST_AGENT_OF_THE_VERSION);
    add(`/storage/${plan.storage.id}`, 'Datastore.AllocateSpace');
    for (const key of Object.keys(sourceConfig)
      .filter((k) => /^net\d+$/.test(k))
      .sort()) {
      const line = String(sourceConfig[key]);
      const bridge = /(?:^|,)bridge=([^,]+)/.exec(line)?.[1];
      const tag = /(?:^|,)tag=(\d+)/.exec(line)?.[1];
      if (bridge) add(`/sdn/zones/localnetwork/${bridge}${tag ? `/${tag}` : ''}`, 'SDN.Use');
    }
    if (plan.replicateBaseTo.length > 0 && !plan.storage.shared) add('/vms', 'VM.Migrate');
    // Student VMs of a template with a cloud-init drive get their login and keys (qemu-server's
    // check_vm_modify_config_perm: ciuser, sshkeys, … need VM.Config.Cloudinit).
    if (hasCloudInitDrive(sourceConfig) && plan.vms.some((v) => v.role === 'student' && v.action === 'create'))
      add('/vms', 'VM.Config.Cloudinit');
    // A lab role's own size (qemu-server's check_vm_modify_config_perm: cores → CPU, memory → Memory).
    if (plan.spec.labRole?.cores !== undefined) add('/vms', 'VM.Config.CPU');
    if (plan.spec.labRole?.memory !== undefined) add('/vms', 'VM.Config.Memory');
  }
  for (const vm of [plan.base, ...plan.vms].filter((v) => v.action === 'delete' && v.vmid !== null))
    add(`/vms/${vm.vmid}`, 'VM.Allocate', 'VM.PowerMgmt');
  return needs;
}

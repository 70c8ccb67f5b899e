import { LabError } from '../errors/lab-error.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { waitForTask, type WaitForTaskOptions } from '../tasks/wait-for-task.js';

/** Local storage types PVE's migration can copy (qemu-server `QemuMigrate.pm` `scan_local_volumes`). */
const MIGRATABLE_LOCAL_TYPES = new Set(['dir', 'btrfs', 'zfspool', 'lvmthin', 'lvm']);

const DISK_KEY = /^(scsi|virtio|sata|ide|efidisk|tpmstate|unused)\d+$/;

/** A migration PVE would refuse; nothing was sent. The message says what to do instead. */
export class MigrationNotPossibleError extends LabError {
  static override readonly code: string = 'LAB_MIGRATION_NOT_POSSIBLE';
  constructor(facts: { vmid: number; node: string; target: string; volid?: string; reason: string; fix: string }) {
    super(
      MigrationNotPossibleError.code,
      `VM ${facts.vmid} cannot move from ${facts.node} to ${facts.target}: ${facts.reason}; ${facts.fix}`,
      facts,
    );
  }
}

/**
 * The base image a linked clone's volume name points at, as pve-storage's `parse_volname` reads it
 * (`Plugin.pm` for dir/nfs `<vmid>/<base>/<vmid>/<name>`, `ZFSPoolPlugin.pm` and `RBDPlugin.pm`
 * `<base>/<name>`); lvm-thin's thin snapshots name no base.
 */
function linkedCloneBase(storageType: string, volname: string): string | undefined {
  if (storageType === 'dir' || storageType === 'nfs') return /^\d+\/([^/]+)\/\d+\/[^/]+$/.exec(volname)?.[1];
  if (storageType === 'zfspool' || storageType === 'rbd') return /^((?:base|basevol)-\d+-[^/]+)\//.exec(volname)?.[1];
  return undefined;
}

/**
 * Checks what PVE checks inside a migration task (qemu-server `QemuMigrate.pm` `prepare`,
 * `scan_local_volumes`) before anything is sent, so a refusal is a coded error saying what to do
 * rather than a task ending `migration aborted`: the lab migrates offline, so the VM must be
 * stopped; a disk on local storage must be of a type PVE copies and must not be a linked clone
 * (`can't migrate '…' as it's a clone of '…'`).
 */
export async function checkMigratable(api: PveApi, node: string, vmid: number, target: string): Promise<void> {
  const qemu = pveResources(api).qemu(node, vmid);
  const [config, status, storages] = await Promise.all([
    qemu.config(),
    qemu.status(),
    pveResources(api).storage(node).list(),
  ]);
  const local: Array<{ volid: string; storage: string; volname: string; type: string }> = [];
  for (const [key, value] of Object.entries(config)) {
    if (!DISK_KEY.test(key) || typeof value !== 'string') continue;
    const [volid = '', ...options] = value.split(',');
    const colon = volid.indexOf(':');
    if (colon <= 0 || (options.includes('media=cdrom') && !/cloudinit/.test(volid))) continue;
    const storage = storages.find((s) => s.storage === volid.slice(0, colon));
    if (!storage || storage.shared === 1) continue;
    local.push({ volid, storage: storage.storage, volname: volid.slice(colon + 1), type: storage.type ?? '' });
  }
  if (status.status === 'running' && local.length > 0)
    throw new MigrationNotPossibleError({
      vmid,
      node,
      target,
      volid: local[0]!.volid,
      reason: `it is running and has local disks (${local.map((l) => l.volid).join(', ')})`,
      fix: 'stop it first: the lab moves only stopped VMs',
    });
  for (const disk of local) {
    if (!MIGRATABLE_LOCAL_TYPES.has(disk.type))
      throw new MigrationNotPossibleError({
        vmid,
        node,
        target,
        volid: disk.volid,
        reason: `its disk ${disk.volid} is on local '${disk.type}' storage, which PVE cannot migrate`,
        fix: `clone it to the target node from shared storage instead`,
      });
    const base = linkedCloneBase(disk.type, disk.volname);
    if (base)
      throw new MigrationNotPossibleError({
        vmid,
        node,
        target,
        volid: disk.volid,
        reason: `its disk ${disk.volid} is a linked clone of ${base} on local storage '${disk.storage}'`,
        fix: 'make a full clone instead (or keep the template on shared storage) and move that',
      });
  }
}

/**
 * Checks the migration's preconditions (`checkMigratable`), then migrates the VM offline and waits
 * for the task. `preconditions: 'known'` skips the check for a VM the caller has just made and
 * knows meets them (a stopped linked clone on lvm-thin), saving its reads.
 */
export async function migrateVm(
  api: PveApi,
  move: { node: string; vmid: number; target: string },
  wait: WaitForTaskOptions,
  preconditions: 'check' | 'known' = 'check',
): Promise<void> {
  if (preconditions === 'check') await checkMigratable(api, move.node, move.vmid, move.target);
  await waitForTask(api, await pveResources(api).qemu(move.node, move.vmid).migrate({ target: move.target }), wait);
}

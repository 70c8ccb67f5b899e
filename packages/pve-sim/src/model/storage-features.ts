import { listDrives, type DriveInfo } from './drives.js';
import { parseVolid } from './storage-naming.js';
import type { SimStorageDef } from './types.js';

/** The image format of a volume on a file-based storage, read from its extension (`.qcow2`, `.raw`). */
function fileFormat(volname: string): string {
  return /\.([a-z0-9]+)$/.exec(volname)?.[1] ?? 'raw';
}

/**
 * Whether a volume can be snapshotted, as pve-storage's `volume_has_feature($feature = 'snapshot')`
 * answers per plugin: lvm-thin, ZFS and RBD always; `dir`/`nfs` (`Plugin.pm`) only qcow2 images;
 * thick LVM (`LVMPlugin.pm`) only qcow2 volumes (PVE 9's snapshots as a volume chain), never raw.
 */
export function volumeCanSnapshot(storage: SimStorageDef, volname: string): boolean {
  switch (storage.type) {
    case 'lvmthin':
    case 'zfspool':
    case 'rbd':
      return true;
    case 'dir':
    case 'nfs':
    case 'lvm':
      return fileFormat(volname) === 'qcow2';
  }
}

/**
 * Whether a rollback must be to the newest snapshot: ZFS (`ZFSPoolPlugin.pm`
 * `volume_rollback_is_possible`) and qcow2 volume chains on thick LVM refuse an older one with
 * `can't rollback, '<snap>' is not most recent snapshot on '<volid>'`; lvm-thin, RBD and qcow2 files
 * roll back to any.
 */
export function rollbackOnlyToNewest(storage: SimStorageDef): boolean {
  return storage.type === 'zfspool' || storage.type === 'lvm';
}

/**
 * The disks of a config PVE checks for a feature (qemu-server `QemuConfig::has_feature`): every
 * drive but CD-ROMs and the cloud-init drive (`drive_is_cdrom`).
 */
export function featureDisks(config: Record<string, string>): DriveInfo[] {
  return listDrives(config).filter((d) => !d.isCdrom && !d.isCloudinit && parseVolid(d.volid) !== undefined);
}

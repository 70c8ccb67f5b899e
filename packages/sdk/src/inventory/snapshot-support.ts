/** A storage as `GET /nodes/{node}/storage` lists it: its id and plugin type. */
export interface StorageKind {
  storage: string;
  type?: string | undefined;
}

/** A disk of a VM that PVE checks for a storage feature. */
export interface FeatureDisk {
  /** The config key, e.g. `scsi0`. */
  key: string;
  storage: string;
  volname: string;
}

const DRIVE_KEY = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$/;

/**
 * The disks qemu-server `QemuConfig::has_feature` checks: every drive of the config but CD-ROMs
 * and the cloud-init drive (`drive_is_cdrom`), and drives that are not volumes of a storage.
 */
export function featureDisks(config: Readonly<Record<string, unknown>>): FeatureDisk[] {
  const disks: FeatureDisk[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!DRIVE_KEY.test(key) || typeof value !== 'string') continue;
    const volid = (value.split(',')[0] ?? '').replace(/^(file|volume)=/, '');
    if (/(^|,)media=cdrom(,|$)/.test(value) || /cloudinit/.test(volid) || volid === 'none') continue;
    const colon = volid.indexOf(':');
    if (colon <= 0) continue;
    disks.push({ key, storage: volid.slice(0, colon), volname: volid.slice(colon + 1) });
  }
  return disks.sort((a, b) => a.key.localeCompare(b.key));
}

const imageFormat = (volname: string): string => /\.([a-z0-9]+)$/.exec(volname)?.[1] ?? 'raw';

/**
 * Whether PVE can snapshot a volume, as pve-storage's `volume_has_feature('snapshot')` answers per
 * plugin: `lvmthin`, `zfspool`, `rbd` (and the other snapshot-capable plugins `zfs`, `btrfs`)
 * always; file-based storages (`dir`, `nfs`, `cifs`, `glusterfs`, `cephfs`) only for qcow2 images;
 * thick `lvm` and `iscsi` volumes only as qcow2 (PVE 9's snapshots as a volume chain), never raw.
 */
export function volumeCanSnapshot(type: string | undefined, volname: string): boolean {
  switch (type) {
    case 'lvmthin':
    case 'zfspool':
    case 'zfs':
    case 'rbd':
    case 'btrfs':
      return true;
    default:
      return imageFormat(volname) === 'qcow2';
  }
}

/**
 * Whether PVE rolls a volume back only to its newest snapshot: ZFS (`ZFSPoolPlugin.pm`
 * `volume_rollback_is_possible`) and qcow2 volume chains on thick LVM (`LVMPlugin.pm`); lvm-thin,
 * RBD and qcow2 files roll back to any snapshot.
 */
export function rollsBackOnlyToNewest(type: string | undefined): boolean {
  return type === 'zfspool' || type === 'zfs' || type === 'lvm';
}

/**
 * Why PVE would refuse to snapshot a VM with this config, in words for its owner, or undefined
 * when every disk can be snapshotted (linked clones included: their own volume is what is
 * snapshotted). `storages` are those of the VM's node.
 */
export function snapshotBlocker(
  config: Readonly<Record<string, unknown>>,
  storages: readonly StorageKind[],
): string | undefined {
  if (config.template === 1 || config.template === '1') return 'it is a template';
  const typeOf = new Map(storages.map((s) => [s.storage, s.type]));
  const disks = featureDisks(config);
  if (disks.length === 0) return undefined;
  for (const disk of disks) {
    const type = typeOf.get(disk.storage);
    if (!volumeCanSnapshot(type, disk.volname))
      return `its disk ${disk.key} is on storage ${disk.storage} (${type ?? 'unknown type'}, ${imageFormat(disk.volname)}), where Proxmox cannot take snapshots; a VM on lvm-thin, ZFS, Ceph RBD or a qcow2 image can`;
  }
  return undefined;
}

/** The storage of the VM's disks that limits rollbacks to the newest snapshot, if any. */
export function newestOnlyStorage(
  config: Readonly<Record<string, unknown>>,
  storages: readonly StorageKind[],
): string | undefined {
  const typeOf = new Map(storages.map((s) => [s.storage, s.type]));
  return featureDisks(config).find((d) => rollsBackOnlyToNewest(typeOf.get(d.storage)))?.storage;
}

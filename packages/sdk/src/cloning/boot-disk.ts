/** A disk a VM can boot from, as found in its config. */
export interface BootDisk {
  /** Config key, e.g. `scsi0`. */
  key: string;
  /** Volume id, e.g. `local-lvm:base-9000-disk-0`. */
  volid: string;
  /** Storage id part of the volume id. */
  storage: string;
}

const BOOTABLE_KEY = /^(scsi|virtio|sata|ide)\d+$/;

/** Drive keys in a config (bootable or not), for error messages. */
export function driveKeys(config: Record<string, unknown>): string[] {
  return Object.keys(config)
    .filter((k) => BOOTABLE_KEY.test(k) || /^(efidisk|tpmstate|unused)\d+$/.test(k))
    .sort();
}

/**
 * The storages of every volume in a VM config, CD-ROM images and the cloud-init drive included:
 * PVE clones to another node only when all of them are shared (qemu-server `check_storage_access_clone`).
 */
export function volumeStorages(config: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  for (const key of driveKeys(config).filter((k) => !k.startsWith('unused'))) {
    const value = config[key];
    const storage = typeof value === 'string' ? /^([^:,/]+):/.exec(value)?.[1] : undefined;
    if (storage) ids.add(storage);
  }
  return [...ids];
}

function diskOf(key: string, value: unknown): BootDisk | undefined {
  if (!BOOTABLE_KEY.test(key) || typeof value !== 'string') return undefined;
  const [volid = '', ...options] = value.split(',');
  if (options.some((o) => o === 'media=cdrom')) return undefined;
  if (volid === 'none' || volid === 'cdrom' || /cloudinit/.test(volid) || !volid.includes(':')) return undefined;
  return { key, volid, storage: volid.slice(0, volid.indexOf(':')) };
}

/**
 * The disk a VM boots from: the first real disk in `boot: order=…` (or legacy `bootdisk`), else
 * the first real `scsi`/`virtio`/`sata`/`ide` disk. CD-ROMs, cloud-init drives, `efidisk0`,
 * `tpmstate0` and `unusedN` never count. Undefined when there is none.
 */
export function findBootDisk(config: Record<string, unknown>): BootDisk | undefined {
  const order = typeof config.boot === 'string' ? (/order=([^,]+)/.exec(config.boot)?.[1]?.split(';') ?? []) : [];
  const legacy = typeof config.bootdisk === 'string' ? [config.bootdisk] : [];
  for (const key of [...order, ...legacy]) {
    const disk = diskOf(key, config[key]);
    if (disk) return disk;
  }
  const prefix = (k: string) => ['scsi', 'virtio', 'sata', 'ide'].findIndex((p) => k.startsWith(p));
  const keys = Object.keys(config)
    .filter((k) => BOOTABLE_KEY.test(k))
    .sort((a, b) => prefix(a) - prefix(b) || Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')));
  for (const key of keys) {
    const disk = diskOf(key, config[key]);
    if (disk) return disk;
  }
  return undefined;
}

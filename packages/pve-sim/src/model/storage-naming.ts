import type { SimStorageDef } from './types.js';

const FILE_BASED = new Set(['dir', 'nfs']);

/**
 * Whether a base volume can be link-cloned, after pve-storage's `volume_has_feature` tables for
 * `clone`: file storages (`Plugin.pm`: dir, nfs) take `base` images in qcow2, raw or vmdk (the clone
 * is always a qcow2 backed by the base); lvmthin, zfspool and rbd take any base; plain lvm none.
 */
export function supportsLinkedClone(storage: SimStorageDef, baseVolname: string): boolean {
  if (storage.type === 'lvm') return false;
  if (FILE_BASED.has(storage.type)) return /\.(qcow2|raw|vmdk)$/.test(baseVolname);
  return true;
}

/** Whether a volume name is a base image (a template's disk that linked clones can share). */
export function isBaseVolume(volname: string): boolean {
  return /(^|\/)base-\d+-disk-\d+/.test(volname.split('/').at(-1) ?? volname) || /^\d+\/base-/.test(volname);
}

/** The volume name of disk `index` of `vmid`, as PVE names it on this storage type. */
export function diskVolname(storage: SimStorageDef, vmid: number, index: number, base = false): string {
  const prefix = base ? 'base' : 'vm';
  if (FILE_BASED.has(storage.type)) return `${vmid}/${prefix}-${vmid}-disk-${index}.${storage.format}`;
  return `${prefix}-${vmid}-disk-${index}`;
}

/** The cloud-init volume name of `vmid`. */
export function cloudinitVolname(storage: SimStorageDef, vmid: number): string {
  if (FILE_BASED.has(storage.type)) return `${vmid}/vm-${vmid}-cloudinit.qcow2`;
  return `vm-${vmid}-cloudinit`;
}

/** The part of a volume name that is the volume itself, without the base it was cloned from. */
function ownPart(storage: SimStorageDef, volname: string): string {
  const parts = volname.split('/');
  return FILE_BASED.has(storage.type) ? parts.slice(-2).join('/') : parts.at(-1)!;
}

/**
 * The volume name of a linked clone of `baseVolname` owned by `vmid`, as each plugin's `clone_image`
 * returns it: zfspool and rbd `base-103-disk-0/vm-105-disk-0`; file storages
 * `103/base-103-disk-0.raw/105/vm-105-disk-0.qcow2` (pve-storage `Plugin.pm` `clone_image` makes a
 * qcow2 whatever the base's format); lvm-thin plain `vm-105-disk-0` (`LvmThinPlugin.pm`
 * `clone_image` returns `find_free_diskname`: the thin snapshot's name carries no base), see
 * BEHAVIOURS.md §T1.
 */
export function linkedVolname(storage: SimStorageDef, baseVolname: string, vmid: number, index: number): string {
  if (storage.type === 'lvmthin') return diskVolname(storage, vmid, index);
  const own = FILE_BASED.has(storage.type)
    ? `${vmid}/vm-${vmid}-disk-${index}.qcow2`
    : diskVolname(storage, vmid, index);
  return `${ownPart(storage, baseVolname)}/${own}`;
}

/**
 * The base image a volume name says it is a linked clone of (`$basename`, `$basevmid` of the
 * plugin's `parse_volname`): dir/nfs `<B>/<base>/<N>/<name>` (`Plugin.pm`), zfspool `<base>/<name>`
 * (`ZFSPoolPlugin.pm`, `base-` or `basevol-`), rbd `<base>/<name>` (`RBDPlugin.pm`); lvm-thin and
 * lvm never name one (`LvmThinPlugin.pm` `parse_volname` returns undef for both).
 */
export function volnameBase(storage: SimStorageDef, volname: string): { vmid: number; name: string } | undefined {
  let m: RegExpExecArray | null = null;
  if (FILE_BASED.has(storage.type)) {
    m = /^(\d+)\/([^/]+)\/\d+\/[^/]+$/.exec(volname);
    return m ? { vmid: Number(m[1]), name: m[2]! } : undefined;
  }
  if (storage.type === 'zfspool') m = /^((?:base|basevol)-(\d+)-[^/]+)\/[^/]+$/.exec(volname);
  else if (storage.type === 'rbd') m = /^(base-(\d+)-[^/]+)\/[^/]+$/.exec(volname);
  return m ? { vmid: Number(m[2]), name: m[1]! } : undefined;
}

/**
 * The `parent` a storage's `list_images` reports for a linked clone: the qcow2 backing file
 * `../<B>/<base>` on dir/nfs (`Plugin.pm`), the origin snapshot `<base>@__base__` on zfspool and
 * rbd; lvm-thin reports none.
 */
export function volumeParent(storage: SimStorageDef, volname: string): string | undefined {
  const base = volnameBase(storage, volname);
  if (!base) return undefined;
  return FILE_BASED.has(storage.type) ? `../${base.vmid}/${base.name}` : `${base.name}@__base__`;
}

/**
 * The base-image name a volume gets when its VM becomes a template. Like PVE's storage plugins it
 * keeps only the volume's own part: a template made from a linked clone is a base of its own.
 */
export function toBaseVolname(storage: SimStorageDef, volname: string): string {
  return ownPart(storage, volname).replace(/(^|\/)vm-(\d+-disk-\d+)/, '$1base-$2');
}

/** Splits `storage:volname` (PVE volume id). */
export function parseVolid(volid: string): { storage: string; volname: string } | undefined {
  const i = volid.indexOf(':');
  if (i <= 0) return undefined;
  return { storage: volid.slice(0, i), volname: volid.slice(i + 1) };
}

/** Parses a PVE size (`32G`, `512M`, `1T`, plain bytes) to bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(text.trim());
  if (!m) return 0;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[
    m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'
  ];
  return Math.round(Number(m[1]) * unit);
}

/** Formats bytes as PVE writes sizes in configs (`32G`, `512M`). */
export function formatSize(bytes: number): string {
  const units: Array<[string, number]> = [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ];
  for (const [suffix, size] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  return String(bytes);
}

/** Formats bytes the way PVE's copy progress lines do (`1.4 GiB`). */
export function formatBytesHuman(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

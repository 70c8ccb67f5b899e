/** A drive line of a guest config, split into its volume and options. */
export interface DriveInfo {
  key: string;
  volid: string;
  options: Record<string, string>;
  isCdrom: boolean;
  isCloudinit: boolean;
}

const DRIVE_KEY = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$|^rootfs$|^mp\d+$/;

/** Whether a config key names a drive (not `unusedN`). */
export function isDriveKey(key: string): boolean {
  return DRIVE_KEY.test(key);
}

/** Parses a drive value like `local-lvm:vm-101-disk-0,size=32G,discard=on`. */
export function parseDrive(key: string, value: string): DriveInfo {
  const [first = '', ...rest] = value.split(',');
  const options: Record<string, string> = {};
  let volid = first;
  if (first.includes('=')) {
    const [k, v] = first.split('=');
    if (k === 'file' || k === 'volume') volid = v ?? '';
    else options[k!] = v ?? '';
  }
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq > 0) options[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return {
    key,
    volid,
    options,
    isCdrom: options.media === 'cdrom' || volid === 'none' || volid === 'cdrom',
    isCloudinit: /cloudinit/.test(volid),
  };
}

/** Builds a drive value back from its volume and options. */
export function formatDrive(volid: string, options: Record<string, string>): string {
  return [volid, ...Object.entries(options).map(([k, v]) => `${k}=${v}`)].join(',');
}

/** Every drive in a config, in key order. */
export function listDrives(config: Record<string, string>): DriveInfo[] {
  return Object.keys(config)
    .filter(isDriveKey)
    .sort()
    .map((key) => parseDrive(key, config[key]!));
}

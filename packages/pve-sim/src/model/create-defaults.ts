import { isDriveKey, parseDrive } from './drives.js';
import { randomUuid } from './guest-identity.js';

/** Drive names in the order qemu-server picks a boot disk (`Drive.pm` `valid_drive_names_for_boot`). */
const BOOT_SCAN_ORDER = [
  ...Array.from({ length: 4 }, (_, i) => `ide${i}`),
  ...Array.from({ length: 31 }, (_, i) => `scsi${i}`),
  ...Array.from({ length: 16 }, (_, i) => `virtio${i}`),
  ...Array.from({ length: 6 }, (_, i) => `sata${i}`),
];

/** `boot: order=…` from the first disk, the first CD-ROM (cloud-init counts) and the first NIC (`get_default_bootdevices`). */
function defaultBootOrder(config: Record<string, string>): string {
  const first = (cdrom: boolean): string | undefined =>
    BOOT_SCAN_ORDER.find((key) => {
      if (!config[key] || !isDriveKey(key)) return false;
      return parseDrive(key, config[key]).isCdrom === cdrom;
    });
  const net = Array.from({ length: 32 }, (_, i) => `net${i}`).find((k) => config[k]);
  const devices = [first(false), first(true), net].filter((d): d is string => d !== undefined);
  return devices.length ? `order=${devices.join(';')}` : '';
}

/**
 * What qemu-server's create worker adds to a new VM's config (`src/PVE/API2/Qemu.pm` `create_vm`):
 * `meta` (`creation-qemu`, `ctime`; `MetaInfo.pm` `new_meta_info_string`), `boot` unless given,
 * `smbios1` with a new UUID unless given, `vmgenid` unless given (or given as `1`) on x86.
 */
export function applyCreateDefaults(
  config: Record<string, string>,
  facts: { random: () => number; nowSeconds: number; pveVersion: string },
): void {
  const qemu = Number.parseInt(facts.pveVersion, 10) >= 9 ? '10.0.2' : '9.2.0';
  config.meta = `creation-qemu=${qemu},ctime=${facts.nowSeconds}`;
  if (!config.boot) config.boot = defaultBootOrder(config);
  if (!config.smbios1) config.smbios1 = `uuid=${randomUuid(facts.random)}`;
  if ((config.vmgenid === undefined || config.vmgenid === '1') && config.arch !== 'aarch64')
    config.vmgenid = randomUuid(facts.random);
}

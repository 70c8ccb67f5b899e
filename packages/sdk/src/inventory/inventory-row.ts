import type { GuestConfig } from '../pve/pve-schemas.js';
import type { VmCategory, VmInventoryRecord } from '../store/records.js';

/** Operating-system family from PVE's `ostype` (`win10`, `l26`, LXC's `debian`, …). */
export function categoryOf(ostype: unknown): VmCategory {
  if (typeof ostype !== 'string' || ostype === '') return 'other';
  if (ostype.startsWith('win') || ostype === 'wxp' || ostype === 'w2k' || ostype.startsWith('w2k')) return 'windows';
  if (
    /^l2[46]$/.test(ostype) ||
    ['debian', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'devuan'].includes(
      ostype,
    )
  )
    return 'linux';
  return 'other';
}

const SIZE = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)/;
const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes of a drive line's `size=` option, if any. */
export function driveSizeBytes(line: unknown): number | null {
  if (typeof line !== 'string') return null;
  const m = SIZE.exec(line);
  return m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : null;
}

/** An inventory row built from a VM's config (what a deployment registers right after a clone). */
export function inventoryRowFromConfig(
  facts: { clusterId: string; node: string; vmid: number; type?: 'qemu' | 'lxc'; status?: string; now: number },
  config: GuestConfig,
  bootDiskKey?: string,
): VmInventoryRecord {
  const memory = typeof config.memory === 'number' ? config.memory : Number.parseInt(String(config.memory ?? ''), 10);
  const cores =
    (typeof config.cores === 'number' ? config.cores : Number(config.cores ?? 1)) *
    (typeof config.sockets === 'number' ? config.sockets : 1);
  return {
    clusterId: facts.clusterId,
    vmid: facts.vmid,
    name:
      typeof config.name === 'string'
        ? config.name
        : typeof config.hostname === 'string'
          ? config.hostname
          : `VM ${facts.vmid}`,
    node: facts.node,
    status: facts.status ?? 'stopped',
    ip: null,
    type: facts.type ?? 'qemu',
    category: categoryOf(config.ostype),
    memory: Number.isFinite(memory) ? memory : null,
    cores: Number.isFinite(cores) ? cores : null,
    diskSize: driveSizeBytes(
      bootDiskKey ? config[bootDiskKey] : (config.rootfs ?? config.scsi0 ?? config.virtio0 ?? config.sata0),
    ),
    uptime: 0,
    cpuUsage: 0,
    memoryUsage: 0,
    isTemplate: config.template === 1 || config.template === '1',
    tags: typeof config.tags === 'string' ? config.tags : '',
    rdpAvailable: false,
    sshAvailable: false,
    lastUpdated: facts.now,
    lastStatusCheck: null,
    syncError: null,
    goneAt: null,
  };
}

import { listDrives } from '../model/drives.js';
import type { SimGuest } from '../model/types.js';

/** Whether `version` (`8.4.1`) is PVE 9 or later. */
function pve9(version: string): boolean {
  return Number.parseInt(version, 10) >= 9;
}

/** QEMU's `BlockDeviceStats` for one drive (`query-blockstats`), every counter QEMU 9/10 reports. */
function blockDeviceStats(readBytes: number, writtenBytes: number): Record<string, unknown> {
  const ops = (bytes: number): number => Math.floor(bytes / 65_536);
  return {
    account_failed: true,
    account_invalid: true,
    failed_flush_operations: 0,
    failed_rd_operations: 0,
    failed_unmap_operations: 0,
    failed_wr_operations: 0,
    failed_zone_append_operations: 0,
    flush_operations: ops(writtenBytes) >> 4,
    flush_total_time_ns: ops(writtenBytes) * 90_000,
    idle_time_ns: 1_250_000_000,
    invalid_flush_operations: 0,
    invalid_rd_operations: 0,
    invalid_unmap_operations: 0,
    invalid_wr_operations: 0,
    invalid_zone_append_operations: 0,
    rd_bytes: readBytes,
    rd_merged: 0,
    rd_operations: ops(readBytes),
    rd_total_time_ns: ops(readBytes) * 120_000,
    timed_stats: [],
    unmap_bytes: 0,
    unmap_merged: 0,
    unmap_operations: 0,
    unmap_total_time_ns: 0,
    wr_bytes: writtenBytes,
    wr_highest_offset: writtenBytes,
    wr_merged: 0,
    wr_operations: ops(writtenBytes),
    wr_total_time_ns: ops(writtenBytes) * 150_000,
    zone_append_bytes: 0,
    zone_append_merged: 0,
    zone_append_operations: 0,
    zone_append_total_time_ns: 0,
  };
}

/** What a running VM's QMP answers add to its status. */
export interface RunningVmUsage {
  maxmem: number;
  uptime: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  startedAtSeconds: number;
}

/**
 * The keys `GET …/qemu/{vmid}/status/current` adds for a running VM (qemu-server
 * `src/PVE/QemuServer.pm` `vmstatus` with `$full`): per-NIC counters from `/proc/net/dev`
 * (`nics`: `tap<vmid>i<n>`), then the QMP answers — `proxmox-support`, `blockstat` per drive,
 * `running-qemu` — and, if the VM has a balloon device (`balloon` is not 0), `balloon`,
 * `ballooninfo`, `freemem` and `mem` from `query-balloon`.
 */
export function runningQemuStatus(guest: SimGuest, usage: RunningVmUsage, pveVersion: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nicIndexes = Object.keys(guest.config)
    .filter((k) => /^net\d+$/.test(k))
    .map((k) => Number(k.slice(3)))
    .sort((a, b) => a - b);
  if (nicIndexes.length) {
    const share = 1 / nicIndexes.length;
    out.nics = Object.fromEntries(
      nicIndexes.map((i) => [
        `tap${guest.vmid}i${i}`,
        { netin: Math.round(usage.netin * share), netout: Math.round(usage.netout * share) },
      ]),
    );
  }
  out['proxmox-support'] = {
    'backup-fleecing': true,
    'backup-max-workers': true,
    'pbs-dirty-bitmap': true,
    'pbs-dirty-bitmap-migration': true,
    'pbs-dirty-bitmap-savevm': true,
    'pbs-library-version': pve9(pveVersion) ? '2.0.1 (UNKNOWN)' : '1.5.2 (UNKNOWN)',
    'pbs-masterkey': true,
    'query-bitmap-info': true,
  };
  const drives = listDrives(guest.config);
  const disks = drives.filter((d) => !d.isCdrom);
  out.blockstat = Object.fromEntries(
    drives.map((d) => {
      const share = d.isCdrom || disks.length === 0 ? 0 : 1 / disks.length;
      return [d.key, blockDeviceStats(Math.round(usage.diskread * share), Math.round(usage.diskwrite * share))];
    }),
  );
  out['running-qemu'] = pve9(pveVersion) ? '10.0.2' : '9.2.0';
  if (guest.config.balloon !== '0') {
    const totalMem = usage.maxmem - 86 * 1024 * 1024;
    const freeMem = Math.round(totalMem * 0.55);
    out.balloon = usage.maxmem;
    out.ballooninfo = {
      actual: usage.maxmem,
      free_mem: freeMem,
      last_update: usage.startedAtSeconds + usage.uptime,
      major_page_faults: 600 + usage.uptime,
      max_mem: usage.maxmem,
      mem_swapped_in: 0,
      mem_swapped_out: 0,
      minor_page_faults: 150_000 + usage.uptime * 40,
      total_mem: totalMem,
    };
    out.freemem = freeMem;
    out.mem = totalMem - freeMem;
  }
  return out;
}

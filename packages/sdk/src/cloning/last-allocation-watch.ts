import type { Clock } from '../ports/clock.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { parseUpid } from '../tasks/upid.js';
import { driveKeys } from './boot-disk.js';

/** PVE's `clone_disk` logs this line for each drive just before it allocates that drive's volume. */
const DRIVE_LINE = /^create (full|linked) clone of drive /;

/**
 * How many drives a clone of a VM with `config` allocates: every disk and the cloud-init drive; a
 * CD-ROM's line (an ISO, or none) is copied as it is (qemu-server `clone_vm`).
 */
export function clonedDriveCount(config: Record<string, unknown>): number {
  return driveKeys(config).filter((key) => {
    if (key.startsWith('unused')) return false;
    const value = config[key];
    if (typeof value !== 'string') return false;
    const [volid = '', ...options] = value.split(',');
    return !(options.includes('media=cdrom') && !/cloudinit/.test(volid));
  }).length;
}

/** Options of `watchLastAllocation`. */
export interface LastAllocationWatchOptions {
  /** How many drives the clone allocates (`clonedDriveCount` of its source). */
  drives: number;
  /** When to read the log first (about the clone's allocations but its last). */
  firstReadMs: number;
  /** Between later reads. */
  pollIntervalMs: number;
  clock: Clock;
  /** Settles when the caller stops waiting for the task (it ended, failed or timed out). */
  until: Promise<unknown>;
}

/**
 * Calls `reached()` once the clone task `upid` has begun its last storage allocation: its log names
 * every drive it allocates. Another clone asked for after that queues at the storage's lock behind
 * this one's last hold instead of between its holds, so the two come one after the other. Stops
 * without calling when the task ends first or a log read fails: the caller then calls `reached()`
 * itself, as it does once the task has ended.
 */
export function watchLastAllocation(
  api: PveApi,
  upid: string,
  options: LastAllocationWatchOptions,
  reached: () => void,
): void {
  let over = false;
  void options.until.finally(() => (over = true)).catch(() => {});
  const tasks = pveResources(api).tasks(parseUpid(upid).node);
  void (async () => {
    let offset = 0;
    let named = 0;
    await options.clock.sleep(options.firstReadMs);
    while (!over) {
      const lines = await tasks.log(upid, { start: offset, limit: 500 });
      offset += lines.length;
      named += lines.filter((l) => DRIVE_LINE.test(l.t)).length;
      if (named >= options.drives) {
        reached();
        return;
      }
      if (lines.some((l) => /^TASK /.test(l.t))) return;
      await options.clock.sleep(options.pollIntervalMs);
    }
  })().catch(() => {});
}

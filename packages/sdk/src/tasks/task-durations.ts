/**
 * How long a PVE task is expected to run, by what it is, so its first status read waits about that
 * long instead of asking every fraction of a second. These are typical figures of a healthy
 * cluster on local LVM-thin or Ceph storage (a linked clone takes its storage's allocation lock
 * about a second and a half, plus a second for the cloud-init drive every clone copies; converting
 * to a template a few seconds), not promises: a task that runs longer is read again, backing off.
 */
export const TASK_DURATIONS = {
  /** A linked clone: the new disk's allocation, plus the cloud-init drive's. */
  linkedCloneMs: 2_500,
  /** The allocations of a full clone, around its copy (the target disk and the cloud-init drive). */
  fullCloneAllocationsMs: 2_000,
  /** Copy throughput assumed for a full clone when its storage's is not known. */
  fullCopyBytesPerSecond: 200 * 1024 * 1024,
  /** `qm template`: the disks renamed to base volumes. */
  templateMs: 3_000,
  /** A guest start (`qmstart`) up to QEMU running. */
  startMs: 2_000,
  /** An offline migration's bookkeeping, without its disk copy. */
  migrateMs: 3_000,
} as const;

/** What a task is, as far as its duration goes. */
export type ExpectedTask =
  | { kind: 'linked-clone' }
  | { kind: 'full-clone'; bytes: number; bytesPerSecond?: number | undefined }
  | { kind: 'template' }
  | { kind: 'start' }
  | { kind: 'migrate'; bytes?: number | undefined };

/**
 * The expected duration of `task` in ms on this cluster; `timeScale` is how many times faster than
 * a real cluster it runs (a time-scaled simulator), 1 for a real one.
 */
export function expectedTaskMs(task: ExpectedTask, timeScale = 1): number {
  const scale = timeScale > 0 ? timeScale : 1;
  const copyMs = (bytes: number, rate: number = TASK_DURATIONS.fullCopyBytesPerSecond): number => (bytes / rate) * 1000;
  switch (task.kind) {
    case 'linked-clone':
      return TASK_DURATIONS.linkedCloneMs / scale;
    case 'full-clone':
      return (TASK_DURATIONS.fullCloneAllocationsMs + copyMs(task.bytes, task.bytesPerSecond)) / scale;
    case 'template':
      return TASK_DURATIONS.templateMs / scale;
    case 'start':
      return TASK_DURATIONS.startMs / scale;
    case 'migrate':
      return (TASK_DURATIONS.migrateMs + copyMs(task.bytes ?? 0)) / scale;
  }
}

/** Bytes of a PVE drive's `size=` option (`32G`, `512M`, `10737418240`), or undefined. */
export function driveSizeBytes(drive: unknown): number | undefined {
  if (typeof drive !== 'string') return undefined;
  const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)/.exec(drive);
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * unit;
}

/**
 * What the SDK uses when an option is left out, in one place. Each group is read by the module
 * named beside it; a value here is documented on that module's option.
 */
export const SDK_DEFAULTS = {
  /** `waitForTask`: how long a PVE task may run, and how its status is polled (the interval doubles up to the max). */
  taskWait: { timeoutMs: 600_000, pollIntervalMs: 250, maxPollIntervalMs: 2_000 },
  /** `replicateTemplate`: a full clone, migration and conversion of a template may take an hour. */
  replication: { timeoutMs: 3_600_000, lockPollIntervalMs: 1_000 },
  /** `VmPower` and `VmSnapshots`: power tasks at once on one node, and the slowest poll of their tasks. */
  power: { maxTasksPerNode: 10, maxPollIntervalMs: 1_000 },
  /** `SyncEngine`: how often and how widely the inventory is read. */
  sync: {
    fullIntervalMs: 300_000,
    clustersAtOnce: 3,
    detailConcurrency: 8,
    probeConcurrency: 16,
    probeTimeoutMs: 800,
    ipMaxAgeMs: 600_000,
    backoffBaseMs: 5_000,
    backoffMaxMs: 300_000,
  },
  /** `ClassScheduler`: its tick, its power work and the grace a guest gets to shut down. */
  scheduler: { pollIntervalMs: 1_000, tickMs: 30_000, perNodeConcurrency: 2, shutdownTimeoutS: 120 },
  /** `DirectoryService`: how often the directory is synced, and how long its lease lasts. */
  directory: { intervalMs: 3_600_000, leaseTtlMs: 600_000, checkIntervalMs: 60_000 },
  /** `TemplateScanSchedule` and `checkTemplateHealth`. */
  templateScan: { intervalMs: 1_800_000, checkIntervalMs: 30_000, concurrency: 4 },
} as const satisfies Record<string, Record<string, number>>;

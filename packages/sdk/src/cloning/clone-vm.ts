import type { RetryBudget } from '../ports/retry-budget.js';
import { CloneOutcomeUnknownError } from '../pve/clone-outcome-error.js';
import { PveTaskTimeoutError } from '../errors/pve-errors.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { cloneRefusalRetry, DOMAIN_RETRY, domainWaitMs } from '../tasks/domain-retry.js';
import { readTaskLogTail, waitForTask } from '../tasks/wait-for-task.js';
import { driveSizeBytes, expectedTaskMs } from '../tasks/task-durations.js';
import { findBootDisk, driveKeys, volumeStorages, type BootDisk } from './boot-disk.js';
import {
  CloneMissingDiskError,
  CloneTargetStorageError,
  CloneTimeoutError,
  LinkedCloneUnsupportedError,
  TemplateMissingDiskError,
} from './clone-errors.js';
import { clonedDriveCount, watchLastAllocation } from './last-allocation-watch.js';
import { allocateVmid, type VmidReservation } from './vmid-allocator.js';

/** How to clone: `auto` links from a template where the storage allows and falls back to full. */
export type CloneMode = 'auto' | 'linked' | 'full';

/** What a clone is doing, for progress displays. */
export interface CloneProgress {
  phase: 'verifying-source' | 'allocating' | 'cloning' | 'waiting-for-lock' | 'verifying' | 'done';
  vmid?: number;
  /** Copy progress of a full clone, from the task log. */
  percent?: number;
}

/** A clone source as its caller just read it. */
export interface SourceFacts {
  config: Record<string, unknown>;
  /** The type of the storage of its boot disk (`lvmthin`, `dir`, …), when known. */
  bootStorageType?: string | undefined;
}

/** Options of `cloneVm`. */
export interface CloneVmOptions {
  source: { node: string; vmid: number };
  /** What the caller read of the source moments ago (a deployment's plan); not read again then. */
  sourceFacts?: SourceFacts;
  name: string;
  /** A VMID to use; otherwise one is allocated safely. */
  newid?: number;
  /** @defaultValue `'auto'` */
  mode?: CloneMode;
  /** Node to create the clone on (only when the source's disks are on shared storage). */
  target?: string;
  /** Target storage of a full clone. */
  storage?: string;
  pool?: string;
  description?: string;
  /** Clone this snapshot of the source (a full clone; the source may keep running). */
  snapname?: string;
  /** Deadline for the whole clone, lock wait included. @defaultValue `1800000` (30 min) */
  timeoutMs?: number;
  /** How often the task and the new VM's lock are polled. @defaultValue `1000` */
  pollIntervalMs?: number;
  /**
   * How many times faster than a real cluster this one runs (a time-scaled simulator): the clone
   * task's first status read waits its expected duration (`expectedTaskMs`) divided by this, at
   * most 20 × `pollIntervalMs`.
   * Undefined: the task is read at once and then every `pollIntervalMs`, as before.
   */
  timeScale?: number;
  /** Follow the clone task through its node's shared active task list (`WaitForTaskOptions.sharedTaskList`). */
  sharedTaskList?: boolean;
  /** How often a full clone's task log is read for its progress. Undefined: at every poll. */
  progressIntervalMs?: number;
  /** With `progressIntervalMs`: read a full copy's log halfway to its expected end each time (`WaitForTaskOptions.logHalfway`). */
  progressHalfway?: boolean;
  /**
   * The longest interval between polls of the clone task, which start at `pollIntervalMs` (at most
   * 250 ms) and grow ×1.5: a full copy that runs for minutes need not be asked about every second.
   * @defaultValue `pollIntervalMs`
   */
  maxTaskPollIntervalMs?: number;
  /**
   * Others wait for this clone (a class's base template, a copy of it): its task is read every
   * `pollIntervalMs` to its end, without backing off, so its end is seen sooner at the cost of a
   * few more reads. @defaultValue `false`
   */
  awaited?: boolean;
  /**
   * After a lost clone answer, how long to watch for the new VMID before concluding PVE never took
   * the request and sending it once more (PVE creates the VM's config once the task's worker runs,
   * normally within a second or two). @defaultValue `10000`
   */
  lostAnswerGraceMs?: number;
  /**
   * New attempts after PVE's own refusals (a VMID race, a storage lock timeout). Transport failures
   * are the client's to retry; a lost clone answer is handled apart (see `lostAnswerGraceMs`).
   * @defaultValue `4`
   */
  maxRetries?: number;
  /**
   * The budget the one resend after a lost clone answer is charged to (a deployment's); when it is
   * spent the lost answer is reported instead. Without one, the clone is resent once at most.
   */
  retryBudget?: RetryBudget;
  onProgress?: (progress: CloneProgress) => void;
  /**
   * Called once the clone task has begun its last storage allocation (its log names every drive it
   * allocates), or at the latest when the task has ended or failed: a clone asked for after that
   * on the same storage queues behind this one's last lock hold instead of between its holds.
   * Costs a few task-log reads; none are sent without it.
   */
  onLastAllocation?: () => void;
  /**
   * Called with the VMID about to be used, before the clone request is sent (and again with a new
   * one if it is re-allocated). Record it durably here to find the VM after a crash.
   */
  onAllocated?: (vmid: number) => Promise<void> | void;
  clock?: Clock;
  logger?: Logger;
}

/** A clone that is verifiably done. */
export interface CloneResult {
  clusterId: string;
  vmid: number;
  node: string;
  sourceVmid: number;
  mode: 'linked' | 'full';
  /** Set when a linked clone was wanted (`auto`) but a full one was made; says why. */
  fallbackReason?: string;
  upid: string;
  bootDisk: BootDisk;
  /** The new VM's config once its clone lock cleared, as last read. */
  config: Record<string, unknown>;
  durationMs: number;
  /** Clone attempts made (1 unless a transient failure was retried). */
  attempts: number;
}

/** Storage types whose pve-storage plugin has no `clone` feature (`volume_has_feature`). */
const NO_LINKED_CLONE_TYPES = new Set(['lvm', 'iscsi', 'iscsidirect']);
/** Base image formats file storages (pve-storage `Plugin.pm`) can link-clone; the clone is a qcow2. */
const FILE_LINKABLE_FORMAT = /\.(qcow2|raw|vmdk)$/;

/**
 * Clones a VM so that it is verifiably right, or fails early and clearly: checks the source has a
 * boot disk (no request is sent otherwise), picks linked or full, allocates a VMID that no other
 * clone in this process holds (re-allocating on PVE's "already exists" race), follows the task by
 * UPID, waits until `lock: clone` has cleared on the new VM, and checks the new VM's boot disk.
 * A lost clone answer is watched for: resent once when the VMID stays free, reported when it appears.
 *
 * @throws `TemplateMissingDiskError`, `LinkedCloneUnsupportedError`, `CloneMissingDiskError`,
 * `CloneTimeoutError`, `CloneOutcomeUnknownError` (adopt VM `vmid`), `VmidAllocationError`,
 * `CloneTargetStorageError`, `PveRefusedError`, `PveTaskFailedError` and the client's errors
 */
export async function cloneVm(api: PveApi, options: CloneVmOptions): Promise<CloneResult> {
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger).child({ clusterId: api.clusterId, sourceVmid: options.source.vmid });
  const started = clock.now();
  const deadline = started + (options.timeoutMs ?? 30 * 60_000);
  const poll = options.pollIntervalMs ?? 1000;
  const progress = (p: CloneProgress): void => options.onProgress?.(p);
  const { node, vmid: sourceVmid } = options.source;
  const pve = pveResources(api);
  const sourceVm = pve.qemu(node, sourceVmid);

  progress({ phase: 'verifying-source' });
  const sourceConfig = options.sourceFacts?.config ?? (await sourceVm.config());
  const bootDisk = findBootDisk(sourceConfig);
  if (!bootDisk)
    throw new TemplateMissingDiskError({
      clusterId: api.clusterId,
      node,
      vmid: sourceVmid,
      drives: driveKeys(sourceConfig),
    });
  let { linked, fallbackReason } = await chooseLinked(
    api,
    options.mode ?? 'auto',
    sourceConfig,
    bootDisk,
    node,
    sourceVmid,
    options.sourceFacts?.bootStorageType,
  );

  if (options.target !== undefined && options.target !== node)
    await assertSharedForTarget(api, node, sourceVmid, options.target, [
      ...(options.storage !== undefined ? [options.storage] : []),
      ...volumeStorages(sourceConfig),
    ]);
  const targetNode = options.target ?? node;
  const graceMs = options.lostAnswerGraceMs ?? DOMAIN_RETRY.lostCloneAnswer.graceMs;
  /** The VMID whose clone was sent a second time after a lost answer: if it turns out taken, the first one took effect late. */
  let resentFor: number | undefined;
  let attempts = 0;
  for (;;) {
    attempts++;
    progress({ phase: 'allocating' });
    const reservation: VmidReservation = await allocateVmid(
      api,
      options.newid !== undefined && attempts === 1 ? { preferred: options.newid } : {},
    );
    const newid = reservation.vmid;
    try {
      await options.onAllocated?.(newid);
      progress({ phase: 'cloning', vmid: newid, ...(linked ? {} : { percent: 0 }) });
      const params = {
        newid,
        name: options.name,
        full: !linked,
        target: options.target,
        storage: linked ? undefined : options.storage,
        pool: options.pool,
        description: options.description,
        snapname: options.snapname,
      };
      const upid = await sourceVm.clone(params).catch(async (error: unknown) => {
        if (!(error instanceof CloneOutcomeUnknownError)) throw error;
        // PVE took it after all: the caller adopts VM `newid` (a deployment waits for its lock to clear).
        if (await vmidAppears(api, newid, graceMs, poll, clock)) throw error;
        if (options.retryBudget && !options.retryBudget.tryAcquire()) throw error;
        logger.warn('clone answer lost and the VMID stayed free; sending the clone once more', {
          vmid: newid,
          reason: error.message,
        });
        resentFor = newid;
        return sourceVm.clone(params);
      });
      let atLastAllocation: (() => void) | undefined;
      if (options.onLastAllocation) {
        let called = false;
        const call = options.onLastAllocation;
        atLastAllocation = () => {
          if (called) return;
          called = true;
          call();
        };
      }
      const waited = waitForTask(api, upid, {
        clock,
        pollIntervalMs: Math.min(poll, 250),
        // Followed through the shared list, a late read costs little: back off a little further.
        maxPollIntervalMs: options.awaited
          ? poll
          : Math.max(options.sharedTaskList ? 2 * poll : poll, options.maxTaskPollIntervalMs ?? poll),
        timeoutMs: Math.max(1, deadline - clock.now()),
        logger,
        ...(options.timeScale !== undefined
          ? { expectedMs: Math.min(expectedCloneMs(linked, sourceConfig, bootDisk, options.timeScale), 20 * poll) }
          : {}),
        ...(options.sharedTaskList
          ? { sharedTaskList: true, durationKind: linked ? 'qmclone:linked' : 'qmclone:full' }
          : {}),
        ...(options.progressIntervalMs !== undefined
          ? { logIntervalMs: options.progressIntervalMs, logHalfway: options.progressHalfway === true }
          : {}),
        ...(linked ? {} : { onProgress: (percent: number) => progress({ phase: 'cloning', vmid: newid, percent }) }),
      });
      if (atLastAllocation)
        watchLastAllocation(
          api,
          upid,
          {
            drives: clonedDriveCount(sourceConfig),
            firstReadMs: expectedAllocationsMs(linked, options.timeScale) / 2,
            pollIntervalMs: 2 * poll,
            clock,
            until: waited,
          },
          atLastAllocation,
        );
      try {
        await waited;
      } catch (error) {
        if (error instanceof PveTaskTimeoutError)
          throw await timeoutError(api, options, targetNode, newid, upid, 'task', deadline - started);
        throw error;
      } finally {
        atLastAllocation?.();
      }
      progress({ phase: 'waiting-for-lock', vmid: newid });
      const config = await waitForCloneLock(api, targetNode, newid, deadline, poll, clock, () =>
        timeoutError(api, options, targetNode, newid, upid, 'lock', deadline - started),
      );
      progress({ phase: 'verifying', vmid: newid });
      const newDisk = findBootDisk(config);
      if (!newDisk)
        throw new CloneMissingDiskError({
          clusterId: api.clusterId,
          node: targetNode,
          vmid: newid,
          sourceVmid,
          config,
        });
      progress({ phase: 'done', vmid: newid });
      logger.info('clone verified', { vmid: newid, node: targetNode, mode: linked ? 'linked' : 'full', attempts });
      return {
        clusterId: api.clusterId,
        vmid: newid,
        node: targetNode,
        sourceVmid,
        mode: linked ? 'linked' : 'full',
        ...(fallbackReason ? { fallbackReason } : {}),
        upid,
        bootDisk: newDisk,
        config,
        durationMs: clock.now() - started,
        attempts,
      };
    } catch (error) {
      const refusal = classifyPveFailure(error);
      const reason = refusal?.reason;
      const text = refusal?.pveMessage ?? '';
      const maxRetries = options.maxRetries ?? DOMAIN_RETRY.clone.retries;
      if (resentFor === newid && (reason === 'vmid-taken' || reason === 'lock-timeout')) {
        // The resent clone lost to the first one, which took effect late: VM `newid` is ours to adopt.
        throw new CloneOutcomeUnknownError(
          { clusterId: api.clusterId, node, sourceVmid, vmid: newid, reason: `a resent clone found it taken: ${text}` },
          { cause: error },
        );
      }
      if (
        reason === 'linked-clone-unsupported' &&
        linked &&
        (options.mode ?? 'auto') === 'auto' &&
        attempts <= maxRetries
      ) {
        linked = false;
        fallbackReason = text;
        logger.info('linked clone not supported here; falling back to a full clone', { reason: text });
        continue;
      }
      if (reason === 'linked-clone-unsupported' && linked)
        throw new LinkedCloneUnsupportedError({ clusterId: api.clusterId, node, vmid: sourceVmid, reason: text });
      // A VMID taken on this node (early check) or on another (the worker's config write): a fresh one.
      const retry = cloneRefusalRetry(reason);
      if (retry !== undefined && attempts <= maxRetries && options.newid === undefined && clock.now() < deadline) {
        logger.warn('clone failed transiently; retrying with a fresh VMID', {
          vmid: newid,
          reason: text,
          attempt: attempts,
        });
        if (retry === 'after-lock-wait') await clock.sleep(domainWaitMs(attempts, DOMAIN_RETRY.clone.lockWait));
        continue;
      }
      throw refusal ?? error;
    } finally {
      reservation.release();
    }
  }
}

/** How long a clone task's allocations should take (a full clone's without its copy); 0 on an unscaled cluster read at once. */
function expectedAllocationsMs(linked: boolean, timeScale: number | undefined): number {
  if (timeScale === undefined) return 0;
  return linked
    ? expectedTaskMs({ kind: 'linked-clone' }, timeScale)
    : expectedTaskMs({ kind: 'full-clone', bytes: 0 }, timeScale);
}

/** How long the clone task should take: a linked clone's allocations, or a full copy of the source's disks. */
function expectedCloneMs(
  linked: boolean,
  config: Record<string, unknown>,
  bootDisk: BootDisk,
  timeScale: number,
): number {
  if (linked) return expectedTaskMs({ kind: 'linked-clone' }, timeScale);
  const bytes = driveKeys(config).reduce((sum, key) => sum + (driveSizeBytes(config[key]) ?? 0), 0);
  return expectedTaskMs({ kind: 'full-clone', bytes: bytes || (driveSizeBytes(config[bootDisk.key]) ?? 0) }, timeScale);
}

async function chooseLinked(
  api: PveApi,
  mode: CloneMode,
  config: Record<string, unknown>,
  bootDisk: BootDisk,
  node: string,
  vmid: number,
  knownStorageType: string | undefined,
): Promise<{ linked: boolean; fallbackReason?: string }> {
  if (mode === 'full') return { linked: false };
  const isTemplate = config.template === 1 || config.template === '1';
  let reason: string | undefined;
  if (!isTemplate) reason = `VM ${vmid} is not a template`;
  else {
    const type = knownStorageType ?? (await pveResources(api).storage(node).get(bootDisk.storage))?.type;
    if (type && NO_LINKED_CLONE_TYPES.has(type))
      reason = `storage '${bootDisk.storage}' (${type}) cannot hold linked clones`;
    else if (/^[^:]+:\d+\//.test(bootDisk.volid) && !FILE_LINKABLE_FORMAT.test(bootDisk.volid))
      reason = `disk ${bootDisk.volid} is in a format file storages cannot link-clone`;
  }
  if (!reason) return { linked: true };
  if (mode === 'linked') throw new LinkedCloneUnsupportedError({ clusterId: api.clusterId, node, vmid, reason });
  return { linked: false, fallbackReason: reason };
}

/** PVE clones to another node only from and onto shared storage; refuse before asking. */
async function assertSharedForTarget(
  api: PveApi,
  node: string,
  vmid: number,
  target: string,
  storages: string[],
): Promise<void> {
  const resource = pveResources(api).storage(node);
  for (const storage of storages) {
    if ((await resource.get(storage))?.shared !== 1)
      throw new CloneTargetStorageError({ clusterId: api.clusterId, node, vmid, target, storage });
  }
}

/** Whether VMID `vmid` gets taken within `graceMs` (polled every `pollIntervalMs`). */
async function vmidAppears(
  api: PveApi,
  vmid: number,
  graceMs: number,
  pollIntervalMs: number,
  clock: Clock,
): Promise<boolean> {
  const until = clock.now() + graceMs;
  const cluster = pveResources(api).cluster;
  for (;;) {
    if (!(await cluster.isVmidFree(vmid))) return true;
    if (clock.now() >= until) return false;
    await clock.sleep(Math.min(pollIntervalMs, Math.max(1, until - clock.now())));
  }
}

/**
 * Polls the new VM's config until PVE has removed `lock: clone` (the clone task may report OK
 * a moment before). Returns the final config; on the deadline throws what `onTimeout` builds.
 */
export async function waitForCloneLock(
  api: PveApi,
  node: string,
  vmid: number,
  deadline: number,
  pollIntervalMs: number,
  clock: Clock,
  onTimeout: () => Promise<Error>,
): Promise<Record<string, unknown>> {
  for (;;) {
    const config = await pveResources(api).qemu(node, vmid).config();
    if (config.lock === undefined) return config;
    if (clock.now() >= deadline) throw await onTimeout();
    await clock.sleep(Math.min(pollIntervalMs, Math.max(1, deadline - clock.now())));
  }
}

async function timeoutError(
  api: PveApi,
  options: CloneVmOptions,
  node: string,
  vmid: number,
  upid: string,
  waitingFor: 'task' | 'lock',
  timeoutMs: number,
): Promise<CloneTimeoutError> {
  const pve = pveResources(api);
  const lastConfig = await pve
    .qemu(node, vmid)
    .config()
    .catch(() => undefined);
  const source = await pve
    .qemu(options.source.node, options.source.vmid)
    .config()
    .catch(() => undefined);
  return new CloneTimeoutError({
    clusterId: api.clusterId,
    node,
    vmid,
    sourceVmid: options.source.vmid,
    timeoutMs,
    waitingFor,
    lastConfig,
    taskLogTail: await readTaskLogTail(api, upid),
    templateStillHasDisk: source === undefined ? undefined : findBootDisk(source) !== undefined,
  });
}

import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { isLabError } from '../errors/lab-error.js';
import { PveHttpError, PveTaskFailedError } from '../errors/pve-errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { EpochMs, VmInventoryRecord } from '../store/records.js';
import { DEFAULT_MAX_SNAPSHOTS } from '../store/snapshot-limit.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { listVmResources } from '../templates/template-inventory.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { NotAllowedError, UnknownVmError } from './inventory-errors.js';
import { recordPowerState } from './record-power-state.js';
import {
  SnapshotLimitError,
  SnapshotNameError,
  SnapshotNotFoundError,
  SnapshotNotNewestError,
  SnapshotProtectedError,
  SnapshotUnsupportedError,
} from './snapshot-errors.js';
import { newestOnlyStorage, snapshotBlocker } from './snapshot-support.js';
import { denialReason, type Viewer } from './viewer.js';
import { withVmSnapshotLock } from './vm-snapshot-lock.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** One snapshot of a VM, as the lab shows it. */
export interface VmSnapshot {
  name: string;
  /** When it was taken; null when PVE does not say. */
  takenAt: EpochMs | null;
  /** Who took it through the lab; null for a snapshot made in Proxmox directly. */
  takenBy: string | null;
  /** Taken by a teacher for the class (e.g. before an exam): it does not count against the limit, and only a teacher deletes it. */
  forClass: boolean;
}

/** How one student VM of a class fared in a class-wide snapshot action. */
export interface ClassSnapshotOutcome {
  clusterId: string;
  vmid: number;
  name: string;
  owner: string | null;
  /** The snapshot acted on. */
  snapshot: string;
  outcome: 'ok' | 'refused' | 'failed';
  /** Why it was refused or failed. */
  reason?: string;
}

/** What `VmSnapshots` needs. */
export interface VmSnapshotsDeps {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
  pollIntervalMs?: number;
}

/** A snapshot name as PVE accepts it (`pve-configid`, at most 40 characters). */
const NAME = /^[a-z][a-z0-9_-]{1,39}$/i;
const RESERVED = new Set(['current', 'pending', 'delete', 'vzdump']);
/** The description the lab writes on its snapshots: `lab snapshot by st01` or `lab class snapshot by t1`. */
const MARK = /^lab (class )?snapshot by (\S+)/;
/** VMs a class-wide action works on at once. */
const CLASS_PARALLEL = 4;

type Located = { row: VmInventoryRecord; api: PveApi; node: string; classId: string | null };

/**
 * Snapshots of student VMs: list, take (within the class's `maxSnapshots`), restore (PVE's
 * rollback: what changed since is gone; a running VM runs again afterwards) and delete, for the
 * VM's owner, its class's teachers and admins; and the same for every student VM of a class at
 * once. Each action is refused with the reason where Proxmox cannot do it (the storage has no
 * snapshots, a ZFS disk goes back only to its newest snapshot), runs under the VM's snapshot lease
 * (any process), waits on the PVE task, keeps the VM's snapshot count in the inventory and is
 * audited (`snapshot.take`, `snapshot.restore`, `snapshot.delete`).
 */
export class VmSnapshots {
  readonly #store: Store;
  readonly #clusters: ClusterApis;
  readonly #clock: Clock;
  readonly #poll: number;

  constructor(deps: VmSnapshotsDeps) {
    checkOptions('new VmSnapshots', deps, STORE_AND_CLUSTERS, PORT_HINTS);
    this.#store = deps.store;
    this.#clusters = deps.clusters;
    this.#clock = deps.clock ?? systemClock;
    this.#poll = deps.pollIntervalMs ?? SDK_DEFAULTS.power.maxPollIntervalMs;
  }

  /** The VM's snapshots, oldest first. */
  async list(viewer: Viewer, clusterId: string, vmid: number): Promise<VmSnapshot[]> {
    const vm = await this.#locate(viewer, clusterId, vmid, 'see the snapshots of', 'snapshot.list');
    const snaps = await this.#read(vm);
    await this.#store.inventory.update(clusterId, vmid, { snapshots: snaps.length });
    return snaps;
  }

  /**
   * Takes snapshot `name` (default `snap-YYYYMMDD-HHMM`, UTC) of the VM, without its memory.
   * `forClass`: a teacher's snapshot for the class, outside the student limit. `count` is every
   * snapshot the VM now has; `counted` only those the class's limit counts (not the class's own).
   */
  async take(
    viewer: Viewer,
    clusterId: string,
    vmid: number,
    options: { name?: string; forClass?: boolean } = {},
  ): Promise<{ snapshot: VmSnapshot; count: number; counted: number }> {
    const forClass = options.forClass === true && viewer.role !== 'student';
    const name = options.name ?? defaultName(forClass ? 'class' : 'snap', this.#clock.now());
    assertName(name);
    const vm = await this.#locate(viewer, clusterId, vmid, 'snapshot', 'snapshot.take');
    return this.#audited(viewer, vm, 'snapshot.take', { name, ...(forClass ? { forClass } : {}) }, () =>
      withVmSnapshotLock(this.#store, this.#clock, vm.row, async () => {
        const snaps = await this.#read(vm);
        if (snaps.some((s) => s.name === name))
          throw new SnapshotNameError({ name, reason: `is already used on ${vm.row.name}; choose another name` });
        if (!forClass) {
          const policy = vm.classId === null ? undefined : await this.#store.usage.policy(vm.classId);
          const limit = policy?.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS;
          const own = snaps.filter((s) => !s.forClass);
          if (limit > 0 && own.length >= limit)
            throw new SnapshotLimitError({ vm: vm.row.name, limit, names: own.map((s) => s.name) });
        }
        const qemu = pveResources(vm.api).qemu(vm.node, vmid);
        const [config, storages] = await Promise.all([qemu.config(), pveResources(vm.api).storage(vm.node).list()]);
        const blocker = snapshotBlocker(config, storages);
        if (blocker) throw new SnapshotUnsupportedError({ vm: vm.row.name, reason: blocker });
        const description = `lab ${forClass ? 'class ' : ''}snapshot by ${viewer.username}`;
        try {
          await this.#wait(vm.api, await qemu.snapshot({ snapname: name, description }));
        } catch (error) {
          if (error instanceof PveTaskFailedError && /snapshot feature is not available/.test(error.exitstatus))
            throw new SnapshotUnsupportedError({
              vm: vm.row.name,
              reason: 'Proxmox says the snapshot feature is not available on the storage of its disks',
            });
          throw error;
        }
        const count = snaps.length + 1;
        await this.#store.inventory.update(clusterId, vmid, { snapshots: count });
        return {
          snapshot: { name, takenAt: this.#clock.now(), takenBy: viewer.username, forClass },
          count,
          counted: snaps.filter((s) => !s.forClass).length + (forClass ? 0 : 1),
        };
      }),
    );
  }

  /**
   * Rolls the VM back to snapshot `name`: its disks and settings become what they were then, and
   * everything since is lost. A running VM is stopped for it and started again.
   */
  async restore(
    viewer: Viewer,
    clusterId: string,
    vmid: number,
    name: string,
  ): Promise<{ status: 'running' | 'stopped' }> {
    const vm = await this.#locate(viewer, clusterId, vmid, 'restore', 'snapshot.restore');
    return this.#audited(viewer, vm, 'snapshot.restore', { name }, () =>
      withVmSnapshotLock(this.#store, this.#clock, vm.row, async () => {
        const snaps = await this.#read(vm);
        const at = snaps.findIndex((s) => s.name === name);
        if (at < 0) throw new SnapshotNotFoundError({ vm: vm.row.name, name, names: snaps.map((s) => s.name) });
        const pve = pveResources(vm.api);
        const qemu = pve.qemu(vm.node, vmid);
        const [config, storages, current] = await Promise.all([
          qemu.config(),
          pve.storage(vm.node).list(),
          qemu.status(),
        ]);
        const newer = snaps.slice(at + 1).map((s) => s.name);
        const storage = newestOnlyStorage(config, storages);
        if (storage && newer.length > 0) throw new SnapshotNotNewestError({ vm: vm.row.name, name, newer, storage });
        const running = current.status === 'running';
        try {
          await this.#wait(vm.api, await qemu.rollback(name, running ? { start: true } : undefined));
        } catch (error) {
          if (error instanceof PveTaskFailedError && /is not most recent snapshot/.test(error.exitstatus))
            throw new SnapshotNotNewestError({ vm: vm.row.name, name, newer, storage: storage ?? 'its storage' });
          throw error;
        }
        const status = running ? 'running' : 'stopped';
        await recordPowerState(this.#store, { clusterId, vmid }, status, this.#clock.now(), { node: vm.node });
        return { status };
      }),
    );
  }

  /** Deletes snapshot `name`; a student cannot delete one a teacher took for the class. */
  async remove(viewer: Viewer, clusterId: string, vmid: number, name: string): Promise<{ count: number }> {
    const vm = await this.#locate(viewer, clusterId, vmid, 'delete a snapshot of', 'snapshot.delete');
    return this.#audited(viewer, vm, 'snapshot.delete', { name }, () =>
      withVmSnapshotLock(this.#store, this.#clock, vm.row, async () => {
        const snaps = await this.#read(vm);
        const snap = snaps.find((s) => s.name === name);
        if (!snap) throw new SnapshotNotFoundError({ vm: vm.row.name, name, names: snaps.map((s) => s.name) });
        if (snap.forClass && viewer.role === 'student')
          throw new SnapshotProtectedError({ vm: vm.row.name, name, takenBy: snap.takenBy ?? 'a teacher' });
        await this.#wait(vm.api, await pveResources(vm.api).qemu(vm.node, vmid).deleteSnapshot(name));
        const count = snaps.length - 1;
        await this.#store.inventory.update(clusterId, vmid, { snapshots: count });
        return { count };
      }),
    );
  }

  /** Takes snapshot `name` (default `class-YYYYMMDD-HHMM`) of every student VM of the class, for the class. */
  takeForClass(viewer: Viewer, classId: string, name?: string): Promise<ClassSnapshotOutcome[]> {
    const snapname = name ?? defaultName('class', this.#clock.now());
    return this.#eachStudentVm(classId, snapname, undefined, (vm) =>
      this.take(viewer, vm.clusterId, vm.vmid, { name: snapname, forClass: true }),
    );
  }

  /** Restores snapshot `name` on every student VM of the class, or only on `username`'s. */
  restoreForClass(viewer: Viewer, classId: string, name: string, username?: string): Promise<ClassSnapshotOutcome[]> {
    return this.#eachStudentVm(classId, name, username, (vm) => this.restore(viewer, vm.clusterId, vm.vmid, name));
  }

  /** Deletes snapshot `name` from every student VM of the class that has it. */
  removeForClass(viewer: Viewer, classId: string, name: string): Promise<ClassSnapshotOutcome[]> {
    return this.#eachStudentVm(classId, name, undefined, (vm) => this.remove(viewer, vm.clusterId, vm.vmid, name));
  }

  async #eachStudentVm(
    classId: string,
    snapshot: string,
    username: string | undefined,
    act: (vm: { clusterId: string; vmid: number }) => Promise<unknown>,
  ): Promise<ClassSnapshotOutcome[]> {
    const assignments = (await this.#store.classes.assignmentsOfClass(classId)).filter((a) => a.role === 'student');
    const people = await this.#store.classes.getPeople([
      ...new Set(assignments.flatMap((a) => (a.personId === null ? [] : [a.personId]))),
    ]);
    const usernameOf = new Map(people.map((p) => [p.id, p.username]));
    const limiter = new ConcurrencyLimiter(CLASS_PARALLEL);
    const chosen = assignments.filter((a) => username === undefined || usernameOf.get(a.personId ?? -1) === username);
    const outcomes = await Promise.all(
      chosen.map((a) =>
        limiter.run(async (): Promise<ClassSnapshotOutcome | undefined> => {
          const row = await this.#store.inventory.get(a.clusterId, a.vmid);
          if (!row || row.goneAt !== null) return undefined;
          const base = {
            clusterId: a.clusterId,
            vmid: a.vmid,
            name: row.name,
            owner: a.personId === null ? null : (usernameOf.get(a.personId) ?? null),
            snapshot,
          };
          try {
            await act(a);
            return { ...base, outcome: 'ok' };
          } catch (error) {
            const refused = isLabError(error) && !error.code.startsWith('LAB_PVE_');
            return { ...base, outcome: refused ? 'refused' : 'failed', reason: (error as Error).message };
          }
        }),
      ),
    );
    return outcomes.filter((o): o is ClassSnapshotOutcome => o !== undefined).sort((x, y) => x.vmid - y.vmid);
  }

  async #locate(viewer: Viewer, clusterId: string, vmid: number, verb: string, action: string): Promise<Located> {
    const row = await this.#store.inventory.get(clusterId, vmid);
    if (!row || row.goneAt !== null) throw new UnknownVmError(clusterId, vmid);
    const assignment = await this.#store.classes.assignment(clusterId, vmid);
    const reason = await denialReason(this.#store, viewer, assignment);
    if (reason) {
      await this.#store.audit.record({
        at: this.#clock.now(),
        actor: viewer.username,
        action,
        target: `${clusterId}/${vmid}`,
        outcome: 'denied',
        details: { reason },
      });
      throw new NotAllowedError({ actor: viewer.username, action: verb, target: `VM ${vmid} (${row.name})`, reason });
    }
    const api = this.#clusters.get(clusterId);
    return { row, api, node: row.node, classId: assignment?.classId ?? null };
  }

  /** The VM's snapshots from PVE; a VM that moved since the last sync is looked up on the cluster once. */
  async #read(vm: Located): Promise<VmSnapshot[]> {
    let entries: Array<{ name: string; [key: string]: unknown }>;
    try {
      entries = await pveResources(vm.api).qemu(vm.node, vm.row.vmid).snapshots();
    } catch (error) {
      if (!(error instanceof PveHttpError && /does not exist/.test(error.pveMessage))) throw error;
      const live = (await listVmResources(vm.api)).find((r) => r.vmid === vm.row.vmid);
      if (!live) throw new UnknownVmError(vm.row.clusterId, vm.row.vmid);
      vm.node = live.node;
      entries = await pveResources(vm.api).qemu(vm.node, vm.row.vmid).snapshots();
    }
    return entries
      .filter((e) => e.name !== 'current')
      .map((e) => {
        const mark = MARK.exec(typeof e.description === 'string' ? e.description : '');
        return {
          name: e.name,
          takenAt: typeof e.snaptime === 'number' ? e.snaptime * 1000 : null,
          takenBy: mark?.[2] ?? null,
          forClass: mark?.[1] !== undefined,
        };
      })
      .sort((a, b) => (a.takenAt ?? 0) - (b.takenAt ?? 0));
  }

  #wait(api: PveApi, upid: string) {
    return waitForTask(api, upid, {
      clock: this.#clock,
      pollIntervalMs: Math.min(SDK_DEFAULTS.taskWait.pollIntervalMs, this.#poll),
      maxPollIntervalMs: this.#poll,
    });
  }

  async #audited<T>(
    viewer: Viewer,
    vm: Located,
    action: string,
    details: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const target = `${vm.row.clusterId}/${vm.row.vmid}`;
    try {
      const result = await fn();
      await this.#store.audit.record({
        at: this.#clock.now(),
        actor: viewer.username,
        action,
        target,
        outcome: 'ok',
        details: { ...details, node: vm.node },
      });
      return result;
    } catch (error) {
      const refused = isLabError(error) && !error.code.startsWith('LAB_PVE_');
      await this.#store.audit.record({
        at: this.#clock.now(),
        actor: viewer.username,
        action,
        target,
        outcome: refused ? 'denied' : 'failed',
        details: {
          ...details,
          ...(refused ? { reason: (error as Error).message } : { error: (error as Error).message }),
        },
      });
      throw error;
    }
  }
}

function defaultName(prefix: string, now: EpochMs): string {
  const iso = new Date(now).toISOString();
  return `${prefix}-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 16).replace(':', '')}`;
}

function assertName(name: string): void {
  if (!NAME.test(name))
    throw new SnapshotNameError({
      name,
      reason: 'must start with a letter and have 2 to 40 letters, digits, dashes or underscores (e.g. before-lab3)',
    });
  if (RESERVED.has(name.toLowerCase()))
    throw new SnapshotNameError({ name, reason: 'is reserved; choose another name' });
}

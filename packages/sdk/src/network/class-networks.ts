import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import {
  sdnSubnetId,
  type PveSdn,
  type SdnSubnetEntry,
  type SdnVnetEntry,
  type SdnZoneEntry,
} from '../pve/sdn-resource.js';
import { DEFAULT_LEASE_TTL_MS, leaseHolderId, whileHoldingLease } from '../store/lease-heartbeat.js';
import type { SdnObjectRecord, SdnObjectState } from '../store/sdn-repository.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import {
  SdnApplyFailedError,
  SdnBusyError,
  SdnNotOursError,
  SdnPoolExhaustedError,
  SdnSpecError,
  SdnTagsExhaustedError,
  SdnZoneMissingError,
  type SdnNodeProblem,
} from './network-errors.js';
import {
  cidrsOverlap,
  parseCidr,
  poolSubnet,
  resolveSdnSettings,
  vnetIdFor,
  type ResolvedSdnSettings,
  type SdnSettings,
} from './sdn-settings.js';

/**
 * The key a `student`-mode class's network for its teacher VMs is recorded under (in the record's
 * `student` column; no username can start with `@`).
 */
export const TEACHERS_NETWORK = '@teachers';

/** The networks a class asks for: one for the class, or one per student. */
export interface ClassNetworkSpec {
  classId: string;
  /** `class`: one VNet every VM of the class is on; `student`: one VNet per student, shared by that student's VMs only. */
  mode: 'class' | 'student';
  /** The students (lab usernames) that get a VNet in `student` mode. */
  students: readonly string[];
  /**
   * `student` mode: also one VNet for the class's teacher VMs (one per role, all on it, as a
   * student's set is on theirs). Ignored in `class` mode, where the teacher VMs share the class's VNet.
   */
  teachers?: boolean;
  /** An existing VLAN, VXLAN or simple zone the admin named; without it, the lab's own simple zone (`<prefix>zone`). */
  zone?: string | undefined;
  /** `snat`: the subnet masquerades outbound traffic through the node; `none`: no outbound NAT. */
  internet: 'snat' | 'none';
}

/** One network of a class, as recorded. */
export interface ClassNetwork {
  /** The VNet id, also the bridge a VM's `net0` names. */
  vnet: string;
  zone: string;
  /** The student it belongs to; null for the class's own network and for the teachers' network. */
  student: string | null;
  /** Whether it is the network of the class's teacher VMs (`student` mode). */
  teachers: boolean;
  cidr: string;
  gateway: string;
  tag: number | null;
  snat: boolean;
  dhcp: boolean;
  state: SdnObjectState;
}

/** What `plan` found and would do. */
export interface ClassNetworkPlan {
  classId: string;
  clusterId: string;
  zone: { id: string; ours: boolean; exists: boolean; type: string };
  /** Every wanted network: recorded ones as they are, missing ones with the id, subnet and tag they would get now. */
  networks: Array<ClassNetwork & { recorded: boolean }>;
  /** Recorded networks of the class the spec no longer asks for (kept until `teardown`). */
  extra: ClassNetwork[];
  /** SDN objects with the lab's prefix that the store has no record of (never touched). */
  unowned: string[];
}

/** What `ensure` left. */
export interface ClassNetworkState {
  classId: string;
  networks: ClassNetwork[];
  extra: ClassNetwork[];
  /** Whether this call ran `PUT /cluster/sdn`. */
  applied: boolean;
  unowned: string[];
  /** Pending SDN changes that were not the lab's and were applied along with its own (PVE applies everything). */
  foreignPending: string[];
}

/** What `teardown` removed and left. */
export interface ClassNetworkTeardown {
  classId: string;
  /** Ids of the VNets (and of the lab's zone, when it held nothing else) removed. */
  removed: string[];
  applied: boolean;
  unowned: string[];
}

/** What `ClassNetworks` works with. */
export interface ClassNetworksOptions {
  store: Store;
  /** The cluster's API (one `ClassNetworks` per cluster). */
  api: PveApi;
  settings: SdnSettings;
  clock?: Clock;
  logger?: Logger;
  /** This process as a lease holder. @defaultValue `<host>:<pid>:<random>` */
  holderId?: string;
  /** How long the cluster's SDN lease lives unrenewed; a dead holder is taken over after it. @defaultValue 30000 */
  leaseTtlMs?: number;
  /** How long a call waits for a live holder to finish before `SdnBusyError`. @defaultValue twice the lease TTL */
  leaseWaitMs?: number;
  /** How long the apply task may run. @defaultValue 5 min */
  applyTimeoutMs?: number;
  /** Poll interval of the apply task. @defaultValue 500 */
  pollIntervalMs?: number;
}

/** The name of the lease that serializes the lab's SDN changes on one cluster. */
export const sdnLeaseName = (clusterId: string): string => `sdn:${clusterId}`;

interface PveView {
  zones: Map<string, SdnZoneEntry>;
  vnets: Map<string, SdnVnetEntry>;
}

const alive = <T extends { state?: string | undefined }>(entry: T | undefined): T | undefined =>
  entry && entry.state !== 'deleted' ? entry : undefined;

const vnetZone = (v: SdnVnetEntry): string | undefined =>
  v.zone ?? (typeof v.pending?.zone === 'string' ? v.pending.zone : undefined);

const subnetCidr = (s: SdnSubnetEntry): string | undefined =>
  s.cidr ?? (/^[^-]+-(.+)-(\d+)$/.exec(s.subnet) ? s.subnet.replace(/^[^-]+-(.+)-(\d+)$/, '$1/$2') : undefined);

function networkOf(r: SdnObjectRecord): ClassNetwork {
  return {
    vnet: r.objectId,
    zone: r.zone,
    student: r.student === TEACHERS_NETWORK ? null : r.student,
    teachers: r.student === TEACHERS_NETWORK,
    cidr: r.cidr ?? '',
    gateway: r.gateway ?? '',
    tag: r.tag,
    snat: r.snat,
    dhcp: r.dhcp,
    state: r.state,
  };
}

/**
 * A class's networks on PVE SDN (issue 30): the class's own VNet, or one per student, each with a
 * subnet from the installation's pool (DHCP in simple zones, outbound SNAT when asked), in the
 * lab's own simple zone or in a VLAN/VXLAN zone the admin named, applied with `PUT /cluster/sdn`.
 *
 * Ownership: the lab changes or deletes only objects whose id starts with `sdn.prefix` AND that the
 * store records; others are reported in `unowned`, never touched. Crash safety: every object is
 * recorded (`planned`) before it is created, `created` once it is in PVE's pending configuration,
 * `applied` after the apply task; every call holds the cluster's SDN lease and first finishes what
 * the records say a dead process left (creates, deletes, a pending apply), reading PVE before
 * each create, so nothing is created twice and no change of the lab's is left pending.
 *
 * @example
 * ```ts
 * const networks = new ClassNetworks({ store, api: clusters.get('lab1'), settings: { prefix: 'lab' } });
 * await networks.ensure({ classId: 'cs101', mode: 'student', students: ['alice', 'bob'], internet: 'snat' });
 * // … deploy (the VMs' net0 are set from the records) …
 * await networks.teardown('cs101');
 * ```
 */
export class ClassNetworks {
  readonly #store: Store;
  readonly #api: PveApi;
  readonly #sdn: PveSdn;
  readonly #settings: ResolvedSdnSettings;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #holder: string;
  readonly #ttl: number;
  readonly #wait: number;
  readonly #applyTimeout: number;
  readonly #poll: number;

  constructor(options: ClassNetworksOptions) {
    this.#store = options.store;
    this.#api = options.api;
    this.#sdn = pveResources(options.api).sdn;
    this.#settings = resolveSdnSettings(options.settings);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#holder = options.holderId ?? leaseHolderId();
    this.#ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#wait = options.leaseWaitMs ?? this.#ttl * 2;
    this.#applyTimeout = options.applyTimeoutMs ?? 5 * 60_000;
    this.#poll = options.pollIntervalMs ?? 500;
  }

  get clusterId(): string {
    return this.#api.clusterId;
  }

  /** The settings in force, defaults filled in. */
  get settings(): ResolvedSdnSettings {
    return this.#settings;
  }

  /** The recorded networks of `classId` on this cluster. */
  async networks(classId: string): Promise<ClassNetwork[]> {
    return (await this.#store.sdn.list(this.clusterId, { classId })).filter((r) => r.kind === 'vnet').map(networkOf);
  }

  /**
   * What `ensure(spec)` would build, from the store and PVE, without changing either. Bad input →
   * `SdnSpecError`, `SdnZoneMissingError`, `SdnNotOursError`, `SdnPoolExhaustedError`, `SdnTagsExhaustedError`.
   */
  async plan(spec: ClassNetworkSpec): Promise<ClassNetworkPlan> {
    const wanted = this.#wanted(spec);
    const view = await this.#view();
    const zone = await this.#zoneOf(spec, view);
    const records = await this.#store.sdn.list(this.clusterId);
    const mine = records.filter((r) => r.kind === 'vnet' && r.classId === spec.classId);
    const missing = wanted.filter((s) => !mine.some((r) => r.student === s));
    const drafts = await this.#draft(spec, zone, missing, records, view);
    return {
      classId: spec.classId,
      clusterId: this.clusterId,
      zone,
      networks: wanted.map((student) => {
        const r = mine.find((x) => x.student === student);
        return r ? { ...networkOf(r), recorded: true } : { ...networkOf(drafts.get(student)!), recorded: false };
      }),
      extra: mine.filter((r) => !wanted.includes(r.student)).map(networkOf),
      unowned: this.#unowned(view, records),
    };
  }

  /**
   * Builds the class's networks and applies them: records each missing one, creates what PVE lacks,
   * applies when anything of the lab's is pending and waits for the apply task. Finishes first what
   * a dead process left on this cluster. Safe to call again (it adds students' networks that are
   * missing and changes nothing else).
   */
  async ensure(spec: ClassNetworkSpec): Promise<ClassNetworkState> {
    const wanted = this.#wanted(spec);
    return this.#locked(async (lost) => {
      // A dead process's unfinished work (this class's teardown included) is finished first.
      if ((await this.#store.sdn.list(this.clusterId)).some((r) => r.state !== 'applied')) await this.#reconcile(lost);
      let view = await this.#view();
      const zone = await this.#zoneOf(spec, view);
      for (let round = 0; ; round++) {
        const records = await this.#store.sdn.list(this.clusterId);
        const mine = records.filter((r) => r.kind === 'vnet' && r.classId === spec.classId);
        const missing = wanted.filter((s) => !mine.some((r) => r.student === s));
        if (missing.length === 0) break;
        if (round > 20) throw new SdnSpecError({ classId: spec.classId, problem: 'its records kept colliding' });
        const drafts = await this.#draft(spec, zone, missing, records, view);
        // Another process may reserve the same subnet or tag between the read and the insert: the
        // store refuses the second one, and the next round drafts again.
        for (const record of drafts.values()) await this.#store.sdn.reserve(record);
      }
      // Recorded only once the class's networks fit (pool, tags), so a refused spec leaves nothing behind.
      if (zone.ours) await this.#recordOwnZone();
      const outcome = await this.#reconcile(lost);
      view = await this.#view();
      const mine = (await this.#store.sdn.list(this.clusterId, { classId: spec.classId })).filter(
        (r) => r.kind === 'vnet',
      );
      return {
        classId: spec.classId,
        networks: mine.filter((r) => wanted.includes(r.student)).map(networkOf),
        extra: mine.filter((r) => !wanted.includes(r.student)).map(networkOf),
        applied: outcome.applied,
        unowned: this.#unowned(view, await this.#store.sdn.list(this.clusterId)),
        foreignPending: outcome.foreignPending,
      };
    });
  }

  /**
   * Removes every network of the class: subnets, then VNets, then the lab's own zone when no VNet
   * is left in it, and applies. Refused (`SdnSpecError`) while the class still has VMs, unless `force`. Touches only recorded objects; a record leaves once PVE no longer
   * has its object, so a process killed half-way is finished by the next call (of any class).
   */
  async teardown(classId: string, options: { force?: boolean } = {}): Promise<ClassNetworkTeardown> {
    // PVE lets a VNet a VM uses be deleted, and that VM then cannot start: its VMs go first.
    // Student and teacher VMs are put on class networks (the class's base keeps what it was made with).
    const records = (await this.#store.sdn.list(this.clusterId, { classId })).filter((r) => r.kind === 'vnet');
    const teachersOnIt = records.some((r) => r.student === null || r.student === TEACHERS_NETWORK);
    const vms = (await this.#store.classes.assignmentsOfClass(classId)).filter(
      (a) => a.role === 'student' || (teachersOnIt && a.role === 'teacher'),
    );
    if (vms.length > 0 && !options.force && records.length > 0)
      throw new SdnSpecError({
        classId,
        problem: `its networks still carry ${vms.length} VM(s); destroy the class's VMs first, then remove its networks`,
      });
    return this.#locked(async (lost) => {
      const at = this.#clock.now();
      const records = await this.#store.sdn.list(this.clusterId);
      const mine = records.filter((r) => r.kind === 'vnet' && r.classId === classId);
      for (const r of mine) await this.#store.sdn.setState(this.clusterId, r.objectId, 'deleting', at);
      const view = await this.#view();
      const removed = mine.map((r) => r.objectId);
      for (const zone of records.filter((r) => r.kind === 'zone' && r.state !== 'deleting')) {
        const others = records.some(
          (r) => r.kind === 'vnet' && r.zone === zone.objectId && r.classId !== classId && r.state !== 'deleting',
        );
        const foreign = [...view.vnets.values()].some(
          (v) => alive(v) && vnetZone(v) === zone.objectId && !records.some((r) => r.objectId === v.vnet),
        );
        if (others || foreign) continue;
        await this.#store.sdn.setState(this.clusterId, zone.objectId, 'deleting', at);
        removed.push(zone.objectId);
      }
      const outcome = await this.#reconcile(lost);
      return {
        classId,
        removed,
        applied: outcome.applied,
        unowned: this.#unowned(await this.#view(), await this.#store.sdn.list(this.clusterId)),
      };
    });
  }

  /**
   * Removes the networks of `students` in `classId` (students who lost their seat), each only once
   * the store has no VM of the class assigned to that student: such a network is kept and listed
   * in `kept` (one a removal cut short had recorded `deleting` is kept again). Recorded `deleting`
   * under the cluster's lease before PVE is asked, so a process killed half-way is finished by the
   * next call (of any class); the same call run again finishes it and lists it in `removed`.
   */
  async removeStudents(
    classId: string,
    students: readonly string[],
  ): Promise<{ removed: string[]; kept: string[]; applied: boolean }> {
    const wanted = new Set(students.filter((s) => s !== TEACHERS_NETWORK));
    if (wanted.size === 0) return { removed: [], kept: [], applied: false };
    return this.#locked(async (lost) => {
      // Read under the lease: a student seated while an earlier call waited keeps their network.
      const withVms = await this.#studentsWithVms(classId);
      const at = this.#clock.now();
      const records = await this.#store.sdn.list(this.clusterId);
      const mine = records.filter(
        (r) => r.kind === 'vnet' && r.classId === classId && r.student !== null && wanted.has(r.student),
      );
      const seated = mine.filter((r) => withVms.has(r.student!));
      const gone = mine.filter((r) => !withVms.has(r.student!));
      for (const r of gone)
        if (r.state !== 'deleting') await this.#store.sdn.setState(this.clusterId, r.objectId, 'deleting', at);
      await this.#keepWanted(
        classId,
        seated.map((r) => r.student),
      );
      const removed = gone.map((r) => r.objectId);
      const kept = seated.map((r) => r.objectId);
      // Also what a dead process left (a removal of these students cut short among it).
      const underWay = records.some((r) => r.state !== 'applied');
      if (removed.length === 0 && !underWay) return { removed, kept, applied: false };
      const outcome = await this.#reconcile(lost);
      return { removed, kept, applied: outcome.applied };
    });
  }

  /**
   * Keeps the networks of `wanted` students (and their zone) that a removal or a forced teardown
   * cut short left `deleting`: the reconcile that follows re-creates what PVE no longer has of them
   * rather than finishing their removal.
   */
  async #keepWanted(classId: string, wanted: ReadonlyArray<string | null>): Promise<void> {
    const at = this.#clock.now();
    const records = await this.#store.sdn.list(this.clusterId);
    const kept = records.filter(
      (r) => r.kind === 'vnet' && r.classId === classId && r.state === 'deleting' && wanted.includes(r.student),
    );
    const zones = new Set(kept.map((r) => r.zone));
    for (const r of [...kept, ...records.filter((z) => z.kind === 'zone' && zones.has(z.objectId))])
      if (r.state === 'deleting') await this.#store.sdn.setState(this.clusterId, r.objectId, 'created', at);
  }

  /** The usernames of the students who have a VM of `classId` assigned. */
  async #studentsWithVms(classId: string): Promise<Set<string>> {
    const assigned = (await this.#store.classes.assignmentsOfClass(classId)).filter(
      (a) => a.role === 'student' && a.personId !== null,
    );
    const people = await this.#store.classes.getPeople([...new Set(assigned.map((a) => a.personId!))]);
    return new Set(people.map((p) => p.username));
  }

  /** Finishes whatever the records say is under way (a dead process's work), without changing any class. */
  async recover(): Promise<{ applied: boolean }> {
    return this.#locked(async (lost) => ({ applied: (await this.#reconcile(lost)).applied }));
  }

  #wanted(spec: ClassNetworkSpec): Array<string | null> {
    if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(spec.classId))
      throw new SdnSpecError({ classId: spec.classId, problem: 'its id is not a lab class id' });
    if (spec.mode === 'class') return [null];
    if (spec.mode !== 'student')
      throw new SdnSpecError({
        classId: spec.classId,
        problem: `mode must be class or student, not ${String(spec.mode)}`,
      });
    const students = [...new Set(spec.students)];
    if (students.includes(TEACHERS_NETWORK))
      throw new SdnSpecError({ classId: spec.classId, problem: `${TEACHERS_NETWORK} is not a student` });
    if (students.length === 0 && !spec.teachers)
      throw new SdnSpecError({
        classId: spec.classId,
        problem: 'student mode needs at least one student; add students first',
      });
    return spec.teachers ? [...students, TEACHERS_NETWORK] : students;
  }

  async #locked<T>(fn: (lost: () => boolean) => Promise<T>): Promise<T> {
    const name = sdnLeaseName(this.clusterId);
    const deadline = this.#clock.now() + this.#wait;
    for (;;) {
      if (await this.#store.sync.acquireLease(name, this.#holder, this.#ttl, this.#clock.now())) break;
      if (this.#clock.now() >= deadline) throw new SdnBusyError({ clusterId: this.clusterId, lease: name });
      await this.#clock.sleep(Math.max(50, Math.floor(this.#ttl / 10)));
    }
    try {
      return await whileHoldingLease(
        { store: this.#store, clock: this.#clock, name, holder: this.#holder, ttlMs: this.#ttl, logger: this.#logger },
        fn,
      );
    } finally {
      await this.#store.sync
        .releaseLease(name, this.#holder)
        .catch((error: unknown) => this.#logger.warn('could not release the SDN lease', { lease: name, error }));
    }
  }

  async #view(): Promise<PveView> {
    const zones = await this.#sdn.zones({ pending: true });
    const vnets = await this.#sdn.vnets({ pending: true });
    return { zones: new Map(zones.map((z) => [z.zone, z])), vnets: new Map(vnets.map((v) => [v.vnet, v])) };
  }

  #ours(id: string): boolean {
    return id.toLowerCase().startsWith(this.#settings.prefix);
  }

  #unowned(view: PveView, records: SdnObjectRecord[]): string[] {
    const known = new Set(records.map((r) => r.objectId));
    const ids = [
      ...[...view.zones.values()].filter((z) => alive(z)).map((z) => z.zone),
      ...[...view.vnets.values()].filter((v) => alive(v)).map((v) => v.vnet),
    ];
    const unowned = ids.filter((id) => this.#ours(id) && !known.has(id)).sort();
    if (unowned.length > 0)
      this.#logger.warn('SDN objects with the lab prefix but no record are left alone', {
        clusterId: this.clusterId,
        ids: unowned,
      });
    return unowned;
  }

  /** The zone of `spec`: the admin's (must exist, of a type the lab builds on) or the lab's own. */
  async #zoneOf(spec: ClassNetworkSpec, view: PveView): Promise<ClassNetworkPlan['zone']> {
    const own = this.#settings.zoneId;
    if (spec.zone === undefined || spec.zone === own) {
      const entry = alive(view.zones.get(own));
      if (entry && !(await this.#store.sdn.get(this.clusterId, own)))
        throw new SdnNotOursError({ kind: 'zone', id: own, clusterId: this.clusterId });
      return { id: own, ours: true, exists: entry !== undefined, type: 'simple' };
    }
    const entry = alive(view.zones.get(spec.zone));
    if (!entry) throw new SdnZoneMissingError({ zone: spec.zone, clusterId: this.clusterId });
    if (!['vlan', 'vxlan', 'simple'].includes(entry.type))
      throw new SdnZoneMissingError({ zone: spec.zone, clusterId: this.clusterId, type: entry.type });
    if (this.#ours(spec.zone) && !(await this.#store.sdn.get(this.clusterId, spec.zone)))
      throw new SdnNotOursError({ kind: 'zone', id: spec.zone, clusterId: this.clusterId });
    return { id: spec.zone, ours: false, exists: true, type: entry.type };
  }

  async #recordOwnZone(): Promise<void> {
    const own = this.#settings.zoneId;
    const at = this.#clock.now();
    const existing = await this.#store.sdn.get(this.clusterId, own);
    if (existing?.state === 'deleting') {
      // A teardown left it for removal; a class wants it again before that finished: keep it.
      await this.#store.sdn.setState(this.clusterId, own, 'created', at);
      return;
    }
    if (existing) return;
    await this.#store.sdn.reserve({
      clusterId: this.clusterId,
      kind: 'zone',
      objectId: own,
      zone: own,
      classId: null,
      student: null,
      cidr: null,
      gateway: null,
      tag: null,
      snat: false,
      dhcp: this.#settings.dhcp,
      state: 'planned',
      createdAt: at,
      updatedAt: at,
    });
  }

  /** Records (unsaved) for the `missing` students: a free id, subnet and (VLAN/VXLAN) tag each. */
  async #draft(
    spec: ClassNetworkSpec,
    zone: ClassNetworkPlan['zone'],
    missing: Array<string | null>,
    records: SdnObjectRecord[],
    view: PveView,
  ): Promise<Map<string | null, SdnObjectRecord>> {
    const drafts = new Map<string | null, SdnObjectRecord>();
    if (missing.length === 0) return drafts;
    const takenIds = new Set([...records.map((r) => r.objectId), ...view.vnets.keys(), ...view.zones.keys()]);
    const takenCidrs = [
      ...records.flatMap((r) => (r.cidr ? [r.cidr] : [])),
      ...(await this.#foreignCidrs(view, records)),
    ];
    const needsTag = zone.type === 'vlan' || zone.type === 'vxlan';
    const takenTags = new Set([
      ...records.filter((r) => r.zone === zone.id && r.tag !== null).map((r) => r.tag!),
      ...[...view.vnets.values()].filter((v) => vnetZone(v) === zone.id && v.tag !== undefined).map((v) => v.tag!),
    ]);
    const zoneEntry = view.zones.get(zone.id);
    const dhcp = zone.ours ? this.#settings.dhcp : zone.type === 'simple' && zoneEntry?.dhcp === 'dnsmasq';
    let next = 0;
    let tag = this.#settings.tags.from;
    const at = this.#clock.now();
    for (const student of missing) {
      let n = 0;
      let id = vnetIdFor(this.#settings.prefix, spec.classId, student, n);
      while (takenIds.has(id)) id = vnetIdFor(this.#settings.prefix, spec.classId, student, ++n);
      takenIds.add(id);
      let subnet = poolSubnet(this.#settings, next);
      while (subnet && takenCidrs.some((c) => cidrsOverlap(c, subnet!.cidr)))
        subnet = poolSubnet(this.#settings, ++next);
      if (!subnet)
        throw new SdnPoolExhaustedError({
          pool: this.#settings.pool.cidr,
          subnetBits: this.#settings.subnetBits,
          needed: missing.length - drafts.size,
        });
      takenCidrs.push(subnet.cidr);
      let vlan: number | null = null;
      if (needsTag) {
        while (takenTags.has(tag) && tag <= this.#settings.tags.to) tag++;
        if (tag > this.#settings.tags.to) throw new SdnTagsExhaustedError({ zone: zone.id, ...this.#settings.tags });
        vlan = tag;
        takenTags.add(tag);
      }
      drafts.set(student, {
        clusterId: this.clusterId,
        kind: 'vnet',
        objectId: id,
        zone: zone.id,
        classId: spec.classId,
        student,
        cidr: subnet.cidr,
        gateway: subnet.gateway,
        tag: vlan,
        snat: spec.internet === 'snat',
        dhcp,
        state: 'planned',
        createdAt: at,
        updatedAt: at,
      });
    }
    return drafts;
  }

  /** The subnets PVE has that the lab did not record, inside the pool, so the lab never overlaps them. */
  async #foreignCidrs(view: PveView, records: SdnObjectRecord[]): Promise<string[]> {
    const known = new Set(records.map((r) => r.objectId));
    const cidrs: string[] = [];
    for (const v of view.vnets.values()) {
      if (known.has(v.vnet) || !alive(v)) continue;
      for (const s of await this.#sdn.subnets(v.vnet, { pending: true })) {
        const cidr = subnetCidr(s);
        if (cidr && alive(s) && cidrsOverlap(cidr, this.#settings.pool.cidr)) cidrs.push(cidr);
      }
    }
    return cidrs;
  }

  /**
   * Brings PVE to what the records say: creates what is `planned`/`created` but missing (zone, then
   * VNets with their subnets), deletes what is `deleting` (subnets, VNets, then zones), applies when
   * anything of the lab's is pending, then marks records `applied` and drops the deleted ones.
   */
  async #reconcile(lost: () => boolean): Promise<{ applied: boolean; foreignPending: string[] }> {
    const records = await this.#store.sdn.list(this.clusterId);
    let view = await this.#view();
    const at = () => this.#clock.now();
    // Creates, the zone first: each one read from PVE first, so a create whose answer was lost
    // (or a process killed right after it) is never sent twice.
    for (const zone of records.filter((r) => r.kind === 'zone' && (r.state === 'planned' || r.state === 'created'))) {
      if (!alive(view.zones.get(zone.objectId))) {
        this.#logger.info('creating SDN zone', { clusterId: this.clusterId, zone: zone.objectId });
        await this.#sdn.createZone({
          zone: zone.objectId,
          type: 'simple',
          ...(zone.dhcp ? { dhcp: 'dnsmasq', ipam: 'pve' } : {}),
        });
      }
      await this.#store.sdn.setState(this.clusterId, zone.objectId, 'created', at());
    }
    for (const r of records.filter((x) => x.kind === 'vnet' && (x.state === 'planned' || x.state === 'created'))) {
      if (lost()) throw new SdnBusyError({ clusterId: this.clusterId, lease: sdnLeaseName(this.clusterId) });
      await this.#createVnet(r, view);
      await this.#store.sdn.setState(this.clusterId, r.objectId, 'created', at());
    }
    // Deletes: subnets, then VNets, then zones.
    for (const r of records.filter((x) => x.kind === 'vnet' && x.state === 'deleting')) {
      if (!alive(view.vnets.get(r.objectId))) continue;
      for (const s of await this.#sdn.subnets(r.objectId, { pending: true })) {
        if (!alive(s) || subnetCidr(s) !== r.cidr) continue;
        this.#logger.info('deleting SDN subnet', { clusterId: this.clusterId, vnet: r.objectId, subnet: s.subnet });
        await this.#sdn.deleteSubnet(r.objectId, s.subnet);
      }
      this.#logger.info('deleting SDN VNet', { clusterId: this.clusterId, vnet: r.objectId });
      await this.#sdn.deleteVnet(r.objectId);
    }
    for (const z of records.filter((x) => x.kind === 'zone' && x.state === 'deleting')) {
      if (!alive(view.zones.get(z.objectId))) continue;
      this.#logger.info('deleting SDN zone', { clusterId: this.clusterId, zone: z.objectId });
      await this.#sdn.deleteZone(z.objectId);
    }
    // The apply: when anything of the lab's is pending (created, changed or deleted, not yet running).
    const ids = new Set(records.map((r) => r.objectId));
    const pending = await this.#sdn.pending();
    const pendingIds = [
      ...pending.zones.map((z) => z.zone),
      ...pending.vnets.map((v) => v.vnet),
      ...pending.subnets.map((s) => s.vnet ?? s.subnet),
    ];
    const ours = pendingIds.filter((id) => ids.has(id));
    const foreignPending = [...new Set(pendingIds.filter((id) => !ids.has(id)))].sort();
    // A record left `created` or `deleting` by an earlier call was never seen applied: PVE commits
    // the pending configuration when the apply starts, so after a crash (or a failed reload task)
    // nothing may be pending and the nodes still lack the object, or still have a deleted VNet's
    // bridge. Applying again is harmless; leaving it is not.
    const unconfirmed = records.some((r) => r.state === 'created' || r.state === 'deleting');
    let applied = false;
    if (ours.length > 0 || unconfirmed) {
      if (lost()) throw new SdnBusyError({ clusterId: this.clusterId, lease: sdnLeaseName(this.clusterId) });
      if (foreignPending.length > 0)
        this.#logger.warn('applying SDN also applies pending changes that are not the lab’s', {
          clusterId: this.clusterId,
          ids: foreignPending,
        });
      const upid = await this.#sdn.apply();
      this.#logger.info('applying SDN', { clusterId: this.clusterId, upid, objects: [...new Set(ours)] });
      await waitForTask(this.#api, upid, {
        clock: this.#clock,
        timeoutMs: this.#applyTimeout,
        pollIntervalMs: this.#poll,
      });
      // The task ends OK even when a node's reload failed (a plain warn): each node says itself.
      await this.#confirmOnNodes(upid);
      applied = true;
    }
    view = await this.#view();
    for (const r of await this.#store.sdn.list(this.clusterId)) {
      if (r.state === 'created') await this.#store.sdn.setState(this.clusterId, r.objectId, 'applied', at());
      if (r.state === 'deleting') {
        const present = r.kind === 'zone' ? view.zones.has(r.objectId) : view.vnets.has(r.objectId);
        if (!present) await this.#store.sdn.remove(this.clusterId, r.objectId);
      }
    }
    return { applied, foreignPending: applied ? foreignPending : [] };
  }

  /**
   * Reads every online node's zone status after an apply (`GET /nodes/{node}/sdn/zones`, and the
   * zone's content where it is not `available`) and fails with `SdnApplyFailedError` naming each
   * node where a zone of the lab's, or one of its VNets, is not available. A zone limited to other
   * nodes is not expected there; a zone in `error` only for VNets that are not the lab's is logged.
   */
  async #confirmOnNodes(upid: string): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const r of await this.#store.sdn.list(this.clusterId)) {
      if (r.state === 'deleting') continue;
      const zone = r.kind === 'zone' ? r.objectId : r.zone;
      const vnets = wanted.get(zone) ?? new Set<string>();
      if (r.kind === 'vnet') vnets.add(r.objectId);
      wanted.set(zone, vnets);
    }
    if (wanted.size === 0) return;
    const zones = new Map((await this.#sdn.zones()).map((z) => [z.zone, z]));
    const limitOf = (zone: string): string[] | undefined => {
      const nodes = zones.get(zone)?.nodes;
      return typeof nodes === 'string' && nodes.trim() ? nodes.split(/[,;\s]+/).filter(Boolean) : undefined;
    };
    const online = (await pveResources(this.#api).nodes.list())
      .filter((n) => n.status === 'online')
      .map((n) => n.node)
      .sort();
    const problems: SdnNodeProblem[] = [];
    for (const node of online) {
      const statuses = new Map((await this.#sdn.nodeZones(node)).map((z) => [z.zone, z.status]));
      for (const [zone, vnets] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const limit = limitOf(zone);
        if (limit && !limit.includes(node)) continue;
        const status = statuses.get(zone) ?? 'missing';
        if (status === 'available') continue;
        const content = status === 'missing' ? [] : await this.#sdn.nodeZoneContent(node, zone);
        const bad = content
          .filter((c) => vnets.has(c.vnet) && c.status !== 'available')
          .map((c) => ({ vnet: c.vnet, status: c.status ?? 'unknown', message: c.statusmsg ?? null }));
        const missing = [...vnets]
          .filter((v) => status !== 'missing' && !content.some((c) => c.vnet === v))
          .map((vnet) => ({ vnet, status: 'missing', message: null }));
        if (status === 'error' && bad.length === 0 && missing.length === 0) {
          this.#logger.warn('an SDN zone of the lab is in error on a node for VNets that are not the lab’s', {
            clusterId: this.clusterId,
            node,
            zone,
          });
          continue;
        }
        problems.push({ node, zone, status, vnets: [...bad, ...missing] });
      }
    }
    if (problems.length > 0) {
      this.#logger.warn('SDN apply did not reach every node', { clusterId: this.clusterId, upid, problems });
      throw new SdnApplyFailedError({ clusterId: this.clusterId, upid, problems });
    }
  }

  async #createVnet(r: SdnObjectRecord, view: PveView): Promise<void> {
    const existing = alive(view.vnets.get(r.objectId));
    if (!existing) {
      this.#logger.info('creating SDN VNet', { clusterId: this.clusterId, vnet: r.objectId, classId: r.classId });
      await this.#sdn.createVnet({
        vnet: r.objectId,
        zone: r.zone,
        type: 'vnet',
        alias: `${r.classId ?? ''} ${r.student ?? 'class'}`.replace(/[^\w .-]/g, '_').slice(0, 256),
        ...(r.tag !== null ? { tag: r.tag } : {}),
      });
    }
    const subnets = existing ? await this.#sdn.subnets(r.objectId, { pending: true }) : [];
    if (subnets.some((s) => alive(s) && subnetCidr(s) === r.cidr)) return;
    const range = r.dhcp ? poolRange(this.#settings, r.cidr!) : undefined;
    this.#logger.info('creating SDN subnet', { clusterId: this.clusterId, vnet: r.objectId, cidr: r.cidr });
    await this.#sdn.createSubnet(r.objectId, {
      subnet: r.cidr!,
      type: 'subnet',
      gateway: r.gateway!,
      snat: r.snat,
      ...(range ? { 'dhcp-range': [`start-address=${range.start},end-address=${range.end}`] } : {}),
    });
  }
}

/** The DHCP range of one of the pool's subnets. */
function poolRange(settings: ResolvedSdnSettings, cidr: string): { start: string; end: string } | undefined {
  const parsed = parseCidr(cidr);
  if (!parsed || parsed.bits !== settings.subnetBits) return undefined;
  const s = poolSubnet(settings, (parsed.base - settings.pool.base) / 2 ** (32 - settings.subnetBits));
  return s?.cidr === cidr ? { start: s.dhcpStart, end: s.dhcpEnd } : undefined;
}

/** The subnet id PVE gives a recorded network (`<zone>-<network>-<bits>`). */
export function classNetworkSubnetId(network: Pick<ClassNetwork, 'zone' | 'cidr'>): string {
  return sdnSubnetId(network.zone, network.cidr);
}

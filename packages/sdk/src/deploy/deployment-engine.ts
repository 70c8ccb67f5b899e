import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { backoffDelay } from '../client/backoff.js';
import { withRetryBudget } from '../client/budgeted-api.js';
import { RetryBudget, type RetryBudgetOptions } from '../client/retry-budget.js';
import { CloneOutcomeUnknownError } from '../pve/clone-outcome-error.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { LabError } from '../errors/lab-error.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord, DeploymentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { listVmResources } from '../templates/template-inventory.js';
import { InvalidDeploymentError, parseClassSpec, type ClassSpecInput } from './class-spec.js';
import { DeleteConfirmationRequiredError, DeploymentInProgressError, PlanChangedError } from './deployment-errors.js';
import { EventChannel, type DeploymentEvent } from './deployment-events.js';
import { DeploymentLease, deploymentLeaseName } from './deployment-lease.js';
import { DefaultDeploymentLimits, DeploymentThrottle, type DeploymentLimits } from './deployment-limits.js';
import { GuestStillLockedError } from './guest-state.js';
import { planClass, type ClassPlan } from './plan-class.js';
import { assertPrivileges, privilegesForPlan } from './permission-preflight.js';
import { classBaseVersions, currentBaseVersion, baseVersionName } from './base-versions.js';
import {
  baseVersionUsage,
  isPublishPlan,
  publishItem,
  type BaseVersionUsage,
  type PublishMode,
  type PublishPlan,
} from './publish-base.js';
import { cloudInitStep } from './cloud-init.js';
import {
  isResetPlan,
  resetOneVm,
  VmResetError,
  type ConfigureStudentVm,
  type ResetPlan,
  type ResetVm,
} from './vm-reset.js';
import { pveResources } from '../pve/pve-resources.js';
import { annotate, deletesOf, itemsOf, type Item, type StoredSpec } from './deployment-items.js';
import type { DeploymentSummary, SummaryVm } from './deployment-summary.js';
import {
  deleteItem,
  destroyClassVms,
  destroyVm,
  pruneOldBases,
  removeHalfMade,
  type TeardownDeps,
} from './deployment-teardown.js';
import { reconcileDeployment } from './deployment-reconcile.js';
import { adoptVm, type AdoptVmRequest } from './adopt-vm.js';
import { ensureReplica, ensureVm, type ClassRun, type RegistrationDeps } from './vm-registration.js';
import { type DeploymentTiming } from './deployment-timing.js';

/** What the engine needs. */
export interface DeploymentEngineDeps {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
  clock?: Clock;
  logger?: Logger;
  limits?: Partial<DeploymentLimits>;
  /** Poll interval for tasks and locks. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Deadline of one clone. @defaultValue 30 min */
  cloneTimeoutMs?: number;
  /** How long a clone whose answer was lost is watched for before it is sent again (`CloneVmOptions.lostAnswerGraceMs`). @defaultValue 10000 */
  cloneLostAnswerGraceMs?: number;
  /** How long a deployment's lease lives unrenewed; another process takes over after that. @defaultValue 30000 */
  leaseTtlMs?: number;
  /** This process as a lease holder. @defaultValue `<host>:<pid>:<random>` */
  instanceId?: string;
  /**
   * Per-student configuration of a student VM before its first boot, applied on deploy and reset;
   * idempotent, so a resumed run applies it again safely. `false` turns it off.
   * @defaultValue `cloudInitStep` — cloud-init user, the student's SSH keys and the class's `ipconfig0`
   */
  configureStudentVm?: ConfigureStudentVm | false;
  /**
   * The retries one deployment run may spend on failed PVE requests, across all its VMs.
   * @defaultValue `{ ratio: 0.2, minRetries: 10, maxAttemptsPerRequest: 5 }`
   */
  retryBudget?: RetryBudgetOptions;
}

/** What `planPublish` publishes: the class's teacher VM as its next base version. */
export interface PublishRequest {
  classId: string;
  clusterId?: string;
  note?: string;
  /** A running teacher VM: copy a snapshot of it, or shut it down cleanly first. @defaultValue `'shutdown'` */
  mode?: PublishMode;
  requestedBy?: string;
}

/** What `planReset` re-creates: one student's VMs, several students', or every student VM of the class. */
export interface ResetRequest {
  classId: string;
  clusterId?: string;
  /** Usernames whose VMs are re-created; omit with `all`. */
  usernames?: string[];
  /** Every student VM of the class. */
  all?: boolean;
  /** Only this VM (a student with several). */
  vmid?: number;
  requestedBy?: string;
}

/** Options of `apply`. */
export interface ApplyOptions {
  onEvent?: (e: DeploymentEvent) => void;
  /** Required when the plan deletes VMs: the caller has shown the list and it was confirmed. */
  confirmDeletes?: boolean;
  /** Where the front end shows progress, kept with the deployment (see `DeploymentRecord.notify`). */
  notify?: Record<string, unknown>;
}

/** Options of `resume` and `startTakeover`. */
export interface ResumeOptions {
  onEvent?: (e: DeploymentEvent) => void;
  /** Called with each deployment taken over and how it ended (e.g. to finish its chat message). */
  onFinished?: (deployment: DeploymentRecord, summary: DeploymentSummary) => void | Promise<void>;
}

/** A running deployment: its id, its events, and its end. */
export interface DeploymentHandle {
  id: string;
  events: AsyncIterable<DeploymentEvent>;
  done: Promise<DeploymentSummary>;
}

/**
 * Outcomes an item is attempted again for: a guest still locked by PVE, or a clone whose answer was
 * lost after PVE took it (the next attempt adopts the recorded VMID). Transport failures are the
 * client's to retry, under the deployment's retry budget.
 */
const RETRY_ITEM = (error: unknown): boolean =>
  error instanceof GuestStillLockedError || error instanceof CloneOutcomeUnknownError;

/** Backoff between attempts of one item. */
const ITEM_BACKOFF = { baseDelayMs: 500, maxDelayMs: 5000 };

/**
 * Class deployment: `plan` (what would change), `apply` (take the class's lease, record the
 * deployment and its items, then clone under concurrency limits), `resume` / `startTakeover`
 * (finish deployments whose owner died), `destroyClass`, `destroyVm` and `adoptVm`.
 *
 * A deployment is owned by one process through a lease in the store, so two processes never run a
 * class at once. Every clone's VMID is in the store, and its creation marker in its description,
 * before the clone is sent; a VM is the class's only when its tags, marker or the store say so.
 * At the end the store is reconciled with the cluster and the summary says what does not match.
 */
export class DeploymentEngine {
  readonly #deps: DeploymentEngineDeps;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #limits: DeploymentLimits;
  readonly #instanceId: string;
  readonly #leaseTtlMs: number;
  readonly #configure: ConfigureStudentVm | undefined;
  readonly #timing: DeploymentTiming;
  readonly #teardown: TeardownDeps;
  readonly #registration: RegistrationDeps;
  /** Classes whose deployment runs in this process (lease holders are per process), with who started it and when. */
  readonly #active = new Map<string, { startedBy?: string; startedAt: number }>();

  constructor(deps: DeploymentEngineDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger ?? silentLogger;
    this.#limits = { ...DefaultDeploymentLimits, ...deps.limits };
    this.#instanceId = deps.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#leaseTtlMs = deps.leaseTtlMs ?? 30_000;
    this.#timing = {
      clock: this.#clock,
      logger: this.#logger,
      pollIntervalMs: deps.pollIntervalMs ?? 1000,
      cloneTimeoutMs: deps.cloneTimeoutMs ?? 30 * 60_000,
      cloneLostAnswerGraceMs: deps.cloneLostAnswerGraceMs,
    };
    this.#teardown = { store: deps.store, timing: this.#timing };
    this.#configure =
      deps.configureStudentVm === false
        ? undefined
        : (deps.configureStudentVm ?? cloudInitStep({ store: deps.store, logger: this.#logger }));
    this.#registration = {
      store: deps.store,
      catalog: deps.catalog,
      timing: this.#timing,
      configure: this.#configure,
    };
  }

  /** What applying `spec` would create, keep and delete. Refused while a deployment of the class runs. */
  async plan(spec: ClassSpecInput): Promise<ClassPlan> {
    const { classId } = parseClassSpec(spec);
    const lease = await this.#deps.store.sync.getLease(deploymentLeaseName(classId));
    if (
      this.#active.has(classId) ||
      (lease && lease.expiresAt >= this.#clock.now() && lease.holder !== this.#instanceId)
    )
      throw await this.#inProgress(classId);
    const plan = await planClass(this.#deps, spec);
    await this.#preflight(plan);
    return plan;
  }

  /** The cluster's API for one deployment run: every retry of its requests is charged to one new `RetryBudget`. */
  #budgetedApi(clusterId: string): PveApi {
    return withRetryBudget(this.#deps.clusters.get(clusterId), new RetryBudget(this.#deps.retryBudget));
  }

  /** Fails with `PvePermissionError` before anything is cloned when the lab's token lacks a privilege the plan needs. */
  async #preflight(plan: ClassPlan): Promise<void> {
    const api = this.#deps.clusters.get(plan.clusterId);
    await assertPrivileges(api, await privilegesForPlan(api, plan));
  }

  /**
   * Takes the class's lease, records `plan` as a deployment, then runs it. Resolves once it is
   * recorded; `done` resolves at the end. A plan that deletes VMs needs `confirmDeletes`. A
   * deployment of the class that a dead process left is finished first.
   */
  async apply(plan: ClassPlan, options: ApplyOptions = {}): Promise<DeploymentHandle> {
    const classId = plan.spec.classId;
    if (plan.counts.delete > 0 && !options.confirmDeletes)
      throw new DeleteConfirmationRequiredError(classId, deletesOf(plan));
    if (this.#active.has(classId)) throw await this.#inProgress(classId);
    // Claimed before the first await: two applies of one class in this process (two teachers in
    // one bot) would otherwise both pass the check and share this process's lease.
    this.#active.set(classId, {
      ...(plan.spec.requestedBy ? { startedBy: plan.spec.requestedBy } : {}),
      startedAt: this.#clock.now(),
    });
    let lease: DeploymentLease | undefined;
    try {
      await this.#preflight(plan);
      lease = await DeploymentLease.acquire(this.#leaseDeps(), classId, this.#instanceId, this.#leaseTtlMs);
      if (!lease) throw await this.#inProgress(classId);
      const stale = (await this.#deps.store.deployments.unfinished()).filter((d) => d.classId === classId);
      if (stale.length > 0) {
        for (const d of stale) {
          this.#logger.warn('finishing an interrupted deployment of the class first', { deploymentId: d.id, classId });
          await this.#run(d.id, lease, () => undefined);
        }
        const fresh = await planClass(this.#deps, plan.spec);
        const confirmed = new Set(deletesOf(plan).map((d) => d.vmid));
        if (deletesOf(fresh).some((d) => !confirmed.has(d.vmid)))
          throw new PlanChangedError(classId, 'it would now delete other VMs');
        plan = fresh;
      }
      const id = randomUUID();
      const now = this.#clock.now();
      const record: DeploymentRecord = {
        id,
        classId,
        clusterId: plan.clusterId,
        spec: { spec: plan.spec, plan } satisfies StoredSpec,
        status: 'planned',
        createdBy: plan.spec.requestedBy,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        error: null,
        notify: options.notify ?? null,
      };
      await this.#deps.store.deployments.create(record, itemsOf(id, plan, now));
      await this.#deps.store.audit.record({
        at: now,
        actor: plan.spec.requestedBy,
        action: 'class.deploy',
        target: classId,
        outcome: 'ok',
        details: { deploymentId: id, ...plan.counts },
      });
      return this.#start(id, classId, lease, options.onEvent);
    } catch (error) {
      await lease?.release();
      this.#active.delete(classId);
      throw error;
    }
  }

  /** Plans and applies `spec`, waiting for the end. */
  async deploy(spec: ClassSpecInput, options: ApplyOptions = {}): Promise<DeploymentSummary> {
    return (await this.apply(await this.plan(spec), options)).done;
  }

  /**
   * What a reset would re-create: the students' VMs of the class (name, VMID, node, whether it
   * runs) and the class's newest base version they are cloned from. Nothing changes yet.
   */
  async planReset(request: ResetRequest): Promise<ResetPlan> {
    const { classId } = request;
    const clusterId = request.clusterId ?? this.#deps.clusters.ids()[0];
    if (!clusterId) throw new VmResetError('no cluster is configured');
    const base = await currentBaseVersion(this.#deps.store, clusterId, classId);
    if (!base) throw new VmResetError(`${classId} has no base template yet; deploy the class first`, { classId });
    const people = new Map<number, string>();
    for (const p of await this.#deps.store.classes.listPeople()) people.set(p.id, p.username);
    const wanted = request.all ? undefined : new Set(request.usernames ?? []);
    const assignments = (await this.#deps.store.classes.assignmentsOfClass(classId)).filter(
      (a) =>
        a.clusterId === clusterId &&
        a.role === 'student' &&
        a.personId !== null &&
        (request.vmid === undefined || a.vmid === request.vmid) &&
        (!wanted || wanted.has(people.get(a.personId) ?? '')),
    );
    const resources = new Map((await listVmResources(this.#deps.clusters.get(clusterId))).map((r) => [r.vmid, r]));
    const vms: ResetVm[] = [];
    for (const a of assignments.sort((x, y) => x.vmid - y.vmid)) {
      const r = resources.get(a.vmid);
      const row = await this.#deps.store.inventory.get(clusterId, a.vmid);
      const name = r?.name ?? row?.name;
      const node = r?.node ?? row?.node;
      if (!name || !node) continue;
      vms.push({
        name,
        vmid: a.vmid,
        personId: a.personId,
        owner: people.get(a.personId!) ?? null,
        node,
        start: r?.status === 'running',
      });
    }
    if (wanted) {
      const missing = [...wanted].filter((u) => !vms.some((v) => v.owner === u));
      if (missing.length)
        throw new VmResetError(
          `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no VM in ${classId} to reset`,
          { classId, missing },
        );
    }
    return { kind: 'reset', classId, clusterId, requestedBy: request.requestedBy ?? 'system', base, vms };
  }

  /**
   * Re-creates the VMs of a reset plan under the class's deployment lease, recorded in the store as
   * a deployment first, so \`resume\` or another process finishes a reset a crash interrupted. Each
   * VM is destroyed and cloned anew from the plan's base version with the same name, VMID (where PVE
   * allows it), tags, cloud-init settings and assignment; one that ran is started again.
   */
  async applyReset(plan: ResetPlan, options: Pick<ApplyOptions, 'onEvent' | 'notify'> = {}): Promise<DeploymentHandle> {
    return this.#applyItems(
      plan.classId,
      plan.clusterId,
      plan.requestedBy,
      plan,
      plan.vms.map((v) => ({
        name: v.name,
        kind: 'student' as const,
        personId: v.personId,
        node: v.node,
        vmid: v.vmid,
      })),
      {
        action: 'vm.reset',
        details: { base: plan.base.name, vms: plan.vms.map((v) => v.vmid) },
      },
      options,
      this.#clock.now(),
    );
  }

  /**
   * The next version of the class's base template, to be made from its teacher VM: name
   * (`cs101-base-v2`), whether the teacher VM runs (then `mode` says snapshot or shutdown), and the
   * nodes students are on that need a copy. Nothing changes yet.
   */
  async planPublish(request: PublishRequest): Promise<PublishPlan> {
    const { classId } = request;
    const clusterId = request.clusterId ?? this.#deps.clusters.ids()[0];
    if (!clusterId) throw new VmResetError('no cluster is configured');
    const api = this.#deps.clusters.get(clusterId);
    const versions = await classBaseVersions(this.#deps.store, clusterId, classId);
    if (versions.length === 0)
      throw new VmResetError(`${classId} has no base template yet; deploy the class first`, { classId });
    const assignments = (await this.#deps.store.classes.assignmentsOfClass(classId)).filter(
      (a) => a.clusterId === clusterId,
    );
    const resources = new Map((await listVmResources(api)).map((r) => [r.vmid, r]));
    const teacherVm = assignments
      .filter((a) => a.role === 'teacher')
      .map((a) => resources.get(a.vmid))
      .find((r) => r !== undefined && Number(r.template) !== 1);
    if (!teacherVm)
      throw new VmResetError(`${classId} has no teacher VM to publish from; deploy the class first`, { classId });
    const version = Math.max(...versions.map((v) => v.version)) + 1;
    const running = teacherVm.status === 'running';
    const mode = request.mode ?? 'shutdown';
    const config = await pveResources(api).qemu(teacherVm.node, teacherVm.vmid).config();
    const disk = findBootDisk(config);
    const storages = disk ? await pveResources(api).storage(teacherVm.node).list({ storage: disk.storage }) : [];
    const shared = storages.find((x) => x.storage === disk?.storage)?.shared === 1;
    const studentNodes = new Set(
      assignments
        .filter((a) => a.role === 'student')
        .map((a) => resources.get(a.vmid)?.node)
        .filter((n): n is string => n !== undefined),
    );
    return {
      kind: 'publish',
      classId,
      clusterId,
      requestedBy: request.requestedBy ?? 'system',
      version,
      name: baseVersionName(classId, version),
      note: request.note ?? null,
      teacher: { vmid: teacherVm.vmid, node: teacherVm.node, name: teacherVm.name ?? String(teacherVm.vmid), running },
      mode,
      snapname: running && mode === 'snapshot' ? `lab-publish-v${version}` : null,
      replicateTo: shared ? [] : [...studentNodes].filter((n) => n !== teacherVm.node).sort(),
    };
  }

  /**
   * Publishes the teacher VM as the class's next base version, recorded as a deployment under the
   * class's lease (so \`resume\` finishes it): a full clone (from a snapshot, or after a clean
   * shutdown when the VM runs; the VM is started again then), verified, converted to a template,
   * registered in the template inventory and as a base version, and copied to the students' nodes.
   * Students are not touched: `applyReset` moves them to the newest version.
   */
  async applyPublish(
    plan: PublishPlan,
    options: Pick<ApplyOptions, 'onEvent' | 'notify'> = {},
  ): Promise<DeploymentHandle> {
    const now = this.#clock.now();
    return this.#applyItems(
      plan.classId,
      plan.clusterId,
      plan.requestedBy,
      plan,
      [
        { name: plan.name, kind: 'base', personId: null, node: plan.teacher.node, vmid: null },
        ...plan.replicateTo.map((node) => ({
          name: `${plan.name}@${node}`,
          kind: 'replica' as const,
          personId: null,
          node,
          vmid: null,
        })),
      ],
      {
        action: 'class.publish',
        details: { name: plan.name, note: plan.note, teacherVmid: plan.teacher.vmid, snapshot: plan.snapname },
      },
      options,
      now,
    );
  }

  /** The class's base versions, oldest first, with notes, dates and the VMs that use each. */
  async baseVersions(classId: string, clusterId = this.#deps.clusters.ids()[0]): Promise<BaseVersionUsage[]> {
    if (!clusterId) return [];
    return baseVersionUsage(this.#deps.store, this.#deps.clusters.get(clusterId), clusterId, classId);
  }

  async #applyItems(
    classId: string,
    clusterId: string,
    requestedBy: string,
    spec: ResetPlan | PublishPlan,
    items: Array<Pick<DeploymentItemRecord, 'name' | 'kind' | 'personId' | 'node' | 'vmid'>>,
    audit: { action: string; details: Record<string, unknown> },
    options: Pick<ApplyOptions, 'onEvent' | 'notify'>,
    now: number,
  ): Promise<DeploymentHandle> {
    if (this.#active.has(classId)) throw await this.#inProgress(classId);
    this.#active.set(classId, { startedBy: requestedBy, startedAt: now });
    let lease: DeploymentLease | undefined;
    try {
      lease = await DeploymentLease.acquire(this.#leaseDeps(), classId, this.#instanceId, this.#leaseTtlMs);
      if (!lease) throw await this.#inProgress(classId);
      for (const d of (await this.#deps.store.deployments.unfinished()).filter((x) => x.classId === classId)) {
        this.#logger.warn('finishing an interrupted deployment of the class first', { deploymentId: d.id, classId });
        await this.#run(d.id, lease, () => undefined);
      }
      const id = randomUUID();
      const record: DeploymentRecord = {
        id,
        classId,
        clusterId,
        spec,
        status: 'planned',
        createdBy: requestedBy,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        error: null,
        notify: options.notify ?? null,
      };
      await this.#deps.store.deployments.create(
        record,
        items.map((i) => ({ ...i, deploymentId: id, status: 'pending', attempt: 0, error: null, updatedAt: now })),
      );
      await this.#deps.store.audit.record({
        at: now,
        actor: requestedBy,
        action: audit.action,
        target: classId,
        outcome: 'ok',
        details: { deploymentId: id, ...audit.details },
      });
      return this.#start(id, classId, lease, options.onEvent);
    } catch (error) {
      await lease?.release();
      this.#active.delete(classId);
      throw error;
    }
  }

  /**
   * Takes over every unfinished deployment whose lease has expired (its process died) and finishes
   * it, reconciling with the cluster first. Deployments a live process owns are left to it.
   */
  async resume(options: ResumeOptions = {}): Promise<DeploymentSummary[]> {
    const out: DeploymentSummary[] = [];
    for (const d of await this.#deps.store.deployments.unfinished()) {
      if (this.#active.has(d.classId)) continue;
      this.#active.set(d.classId, { startedBy: d.createdBy, startedAt: d.createdAt });
      const lease = await DeploymentLease.acquire(
        this.#leaseDeps(),
        d.classId,
        this.#instanceId,
        this.#leaseTtlMs,
      ).catch(() => undefined);
      const current = lease && (await this.#deps.store.deployments.get(d.id));
      if (!lease || !current || (current.status !== 'planned' && current.status !== 'running')) {
        await lease?.release();
        this.#active.delete(d.classId);
        continue;
      }
      this.#logger.info('taking over deployment', { deploymentId: d.id, classId: d.classId });
      const summary = await this.#start(d.id, d.classId, lease, options.onEvent).done;
      out.push(summary);
      try {
        await options.onFinished?.(current, summary);
      } catch (error) {
        this.#logger.warn('onFinished failed', { deploymentId: d.id, error });
      }
    }
    return out;
  }

  /** Calls `resume` every `intervalMs` (default half the lease time) until `stop` — for bot processes. */
  startTakeover(options: ResumeOptions & { intervalMs?: number } = {}): { stop: () => Promise<void> } {
    const stop = new AbortController();
    const loop = (async () => {
      while (!stop.signal.aborted) {
        await this.resume(options).catch((error: unknown) =>
          this.#logger.error('deployment take-over failed', { error }),
        );
        await this.#clock
          .sleep(options.intervalMs ?? Math.ceil(this.#leaseTtlMs / 2), stop.signal)
          .catch(() => undefined);
      }
    })();
    return {
      stop: async () => {
        stop.abort();
        await loop;
      },
    };
  }

  /** Changes where a deployment's progress is shown (e.g. once the chat message exists). */
  async setNotify(deploymentId: string, notify: Record<string, unknown>): Promise<void> {
    await this.#deps.store.deployments.update(deploymentId, { notify }, this.#clock.now());
  }

  /** A deployment and its items, for polling. */
  async getDeployment(
    id: string,
  ): Promise<{ deployment: DeploymentRecord; items: DeploymentItemRecord[] } | undefined> {
    const deployment = await this.#deps.store.deployments.get(id);
    return deployment && { deployment, items: await this.#deps.store.deployments.items(id) };
  }

  #leaseDeps() {
    return { store: this.#deps.store, clock: this.#clock, logger: this.#logger };
  }

  async #inProgress(classId: string): Promise<DeploymentInProgressError> {
    const [running] = (await this.#deps.store.deployments.unfinished())
      .filter((d) => d.classId === classId)
      .sort((a, b) => b.createdAt - a.createdAt);
    // A deployment this process has claimed but not recorded yet (it is still checking privileges or taking the lease).
    const claimed = this.#active.get(classId);
    return new DeploymentInProgressError({
      classId,
      ...(running
        ? { deploymentId: running.id, startedBy: running.createdBy, startedAt: running.createdAt }
        : (claimed ?? {})),
    });
  }

  #start(
    id: string,
    classId: string,
    lease: DeploymentLease,
    onEvent?: (e: DeploymentEvent) => void,
  ): DeploymentHandle {
    const channel = new EventChannel<DeploymentEvent>();
    const emit = (e: DeploymentEvent): void => {
      channel.push(e);
      try {
        onEvent?.(e);
      } catch (error) {
        this.#logger.warn('deployment event handler threw', { error });
      }
    };
    const done = this.#run(id, lease, emit).finally(async () => {
      await lease.release();
      this.#active.delete(classId);
      channel.end();
    });
    return { id, events: channel, done };
  }

  async #run(id: string, lease: DeploymentLease, emit: (e: DeploymentEvent) => void): Promise<DeploymentSummary> {
    const started = this.#clock.now();
    const store = this.#deps.store;
    const deployment = await store.deployments.get(id);
    if (!deployment) throw new InvalidDeploymentError(`no deployment '${id}'`);
    if (isResetPlan(deployment.spec)) return this.#runReset(id, deployment.spec, lease, emit);
    if (isPublishPlan(deployment.spec)) return this.#runItems(id, deployment.spec, lease, emit);
    const { plan } = deployment.spec as StoredSpec;
    const classId = plan.spec.classId;
    const api = this.#budgetedApi(plan.clusterId);
    const items = (await store.deployments.items(id)).map((i) => annotate(i, plan));
    await store.deployments.update(id, { status: 'running' }, this.#clock.now());
    emit({ type: 'planned', deploymentId: id, classId, ...plan.counts });
    const failures: Array<{ name: string; error: string }> = [];
    const removed: SummaryVm[] = [];

    const guard = (item: Item, work: () => Promise<void>): Promise<void> =>
      this.#attemptItem(
        { deploymentId: id, item, lease, emit, failures, logMessage: 'deployment item failed' },
        work,
        async () => {
          const gone = await removeHalfMade(this.#teardown, api, plan.clusterId, id, item.name).catch((e: unknown) =>
            this.#logger.warn('could not remove a half-made VM', { name: item.name, error: e }),
          );
          if (gone) removed.push(gone);
        },
      );
    const byRole = (role: Item['role']) => items.filter((i) => i.role === role && i.action !== 'delete');
    const itemState = async (name: string) => (await store.deployments.items(id)).find((i) => i.name === name);

    // The teacher VM (a full clone) runs beside the chain base → replicas → students. Every clone
    // takes a node, a storage and a global slot, in that order, so a busy node holds no global slot;
    // it holds them until its task ends, not through the cloud-init, tag and register steps after it.
    const run: ClassRun = { api, plan, deploymentId: id, emit };
    const throttle = new DeploymentThrottle(this.#limits);
    const storageKey = (node: string): string => (plan.storage.shared ? plan.storage.id : `${node}/${plan.storage.id}`);
    const slot =
      (node: string) =>
      <T>(work: () => Promise<T>) =>
        throttle.run(node, storageKey(node), work);
    const teacherWork = Promise.all(
      byRole('teacher').map((t) => guard(t, () => ensureVm(this.#registration, run, t, plan.source, slot(t.node!)))),
    );
    const studentChain = async (): Promise<void> => {
      const [baseItem] = byRole('base');
      if (baseItem)
        await guard(baseItem, () => ensureVm(this.#registration, run, baseItem, plan.source, slot(baseItem.node!)));
      const base = baseItem ? await itemState(baseItem.name) : undefined;
      if (base?.status !== 'done' || base.vmid === null) return;
      const copies: Record<string, number> = { ...plan.baseCopies, [base.node!]: base.vmid };
      await Promise.all(
        byRole('replica').map((r) =>
          slot(r.node!)(() =>
            guard(r, () =>
              ensureReplica(this.#registration, run, r, {
                node: base.node!,
                vmid: base.vmid!,
              }),
            ),
          ),
        ),
      );
      for (const r of byRole('replica')) {
        const state = await itemState(r.name);
        if (state?.status === 'done' && state.vmid !== null) copies[state.node!] = state.vmid;
      }
      await Promise.all(
        byRole('student').map((s) =>
          guard(s, async () => {
            const sourceNode = plan.storage.shared ? base.node! : s.node!;
            const sourceVmid = copies[sourceNode];
            if (sourceVmid === undefined && s.vmid === null)
              throw new InvalidDeploymentError(
                `the base template of ${classId} is not on ${sourceNode}, so ${s.name} cannot be cloned there`,
              );
            await ensureVm(
              this.#registration,
              run,
              s,
              { node: sourceNode, vmid: sourceVmid ?? base.vmid! },
              slot(s.node!),
            );
          }),
        ),
      );
    };
    await Promise.all([teacherWork, studentChain()]);

    // Scale-down, confirmed when the plan was applied: only VMs that are still the class's.
    for (const d of items.filter((i) => i.action === 'delete')) {
      await guard(d, () =>
        deleteItem(this.#teardown, api, { clusterId: plan.clusterId, classId, deploymentId: id, emit }, d),
      );
    }

    const finalItems = await store.deployments.items(id);
    const base: Omit<DeploymentSummary, 'status' | 'orphans' | 'unregistered' | 'duplicates' | 'durationMs'> = {
      deploymentId: id,
      classId,
      created: finalItems.filter(
        (i) =>
          i.status === 'done' &&
          (i.kind === 'replica' || [plan.base, ...plan.vms].find((v) => v.name === i.name)?.action === 'create'),
      ).length,
      kept: plan.counts.keep,
      deleted: finalItems.filter((i) => i.status === 'deleted').length,
      failed: failures,
      removed,
      unseated: plan.unseated ?? [],
    };
    if (lease.lost) {
      const summary: DeploymentSummary = {
        ...base,
        status: 'interrupted',
        orphans: [],
        unregistered: [],
        duplicates: [],
        durationMs: this.#clock.now() - started,
      };
      emit({
        type: 'done',
        deploymentId: id,
        status: 'interrupted',
        created: summary.created,
        kept: summary.kept,
        deleted: summary.deleted,
        failed: failures.length,
        durationMs: summary.durationMs,
      });
      return summary;
    }
    const check = await reconcileDeployment(this.#teardown, api, plan, id, finalItems);
    removed.push(...check.removed);
    const problems = [
      ...failures.map((f) => `${f.name}: ${f.error}`),
      ...check.missing.map((m) => `${m} is missing on the cluster`),
      ...check.orphans.map((o) => `orphan ${o.name} (${o.vmid}) on ${o.node}`),
      ...check.unregistered.map((o) => `unregistered ${o.name} (${o.vmid}) on ${o.node}`),
      ...check.duplicates.map((n) => `more than one VM is named ${n}`),
    ];
    const status = problems.length ? 'failed' : 'done';
    const finishedAt = this.#clock.now();
    await store.deployments.update(
      id,
      { status, finishedAt, error: problems.length ? problems.join('; ').slice(0, 2000) : null },
      finishedAt,
    );
    const summary: DeploymentSummary = {
      ...base,
      status,
      orphans: check.orphans,
      unregistered: check.unregistered,
      duplicates: check.duplicates,
      durationMs: finishedAt - started,
    };
    emit({
      type: 'done',
      deploymentId: id,
      status,
      created: summary.created,
      kept: summary.kept,
      deleted: summary.deleted,
      failed: failures.length,
      durationMs: summary.durationMs,
    });
    return summary;
  }

  #runReset(
    id: string,
    plan: ResetPlan,
    lease: DeploymentLease,
    emit: (e: DeploymentEvent) => void,
  ): Promise<DeploymentSummary> {
    return this.#runItems(id, plan, lease, emit);
  }

  /** Runs a reset or a publish: its items under the limits (a publish's copies after its base), then prunes unused old bases. */
  async #runItems(
    id: string,
    plan: ResetPlan | PublishPlan,
    lease: DeploymentLease,
    emit: (e: DeploymentEvent) => void,
  ): Promise<DeploymentSummary> {
    const started = this.#clock.now();
    const store = this.#deps.store;
    const api = this.#budgetedApi(plan.clusterId);
    await store.deployments.update(id, { status: 'running' }, started);
    const items = await store.deployments.items(id);
    emit({ type: 'planned', deploymentId: id, classId: plan.classId, create: items.length, keep: 0, delete: 0 });
    const failures: Array<{ name: string; error: string }> = [];
    const deps = {
      store,
      clock: this.#clock,
      logger: this.#logger,
      pollIntervalMs: this.#deps.pollIntervalMs ?? 1000,
      cloneTimeoutMs: this.#deps.cloneTimeoutMs ?? 30 * 60_000,
      configure: this.#configure,
    };
    const throttle = new DeploymentThrottle(this.#limits);
    const work = plan.kind === 'reset' ? resetOneVm : publishItem;
    const phases =
      plan.kind === 'reset'
        ? [items]
        : [items.filter((i) => i.kind === 'base'), items.filter((i) => i.kind !== 'base')];
    for (const phase of phases)
      await Promise.all(
        phase.map((item) =>
          throttle.run(item.node ?? '', item.node ?? '', () =>
            this.#attemptItem(
              { deploymentId: id, item, lease, emit, failures, logMessage: 'reset of a VM failed' },
              () => work(deps, api, plan as never, id, item, emit),
            ),
          ),
        ),
      );
    const finalItems = await store.deployments.items(id);
    const created = finalItems.filter((i) => i.status === 'done').length;
    const interrupted = lease.lost;
    let deleted = 0;
    if (!interrupted && plan.kind === 'reset' && failures.length === 0) {
      deleted = await pruneOldBases(this.#teardown, api, {
        clusterId: plan.clusterId,
        classId: plan.classId,
        deploymentId: id,
        emit,
      }).catch((error: unknown) => {
        this.#logger.warn('could not remove unused old base versions', { classId: plan.classId, error });
        return 0;
      });
    }
    const status: DeploymentSummary['status'] = interrupted ? 'interrupted' : failures.length ? 'failed' : 'done';
    const finishedAt = this.#clock.now();
    if (status !== 'interrupted')
      await store.deployments.update(
        id,
        {
          status,
          finishedAt,
          error: failures.length
            ? failures
                .map((f) => `${f.name}: ${f.error}`)
                .join('; ')
                .slice(0, 2000)
            : null,
        },
        finishedAt,
      );
    const summary: DeploymentSummary = {
      deploymentId: id,
      classId: plan.classId,
      status,
      created,
      kept: 0,
      deleted,
      failed: failures,
      orphans: [],
      unregistered: [],
      duplicates: [],
      removed: [],
      unseated: [],
      durationMs: finishedAt - started,
    };
    emit({
      type: 'done',
      deploymentId: id,
      status,
      created,
      kept: 0,
      deleted,
      failed: failures.length,
      durationMs: summary.durationMs,
    });
    return summary;
  }

  /**
   * Runs one item's work, attempting it twice more (with backoff) after a `RETRY_ITEM` outcome. A final failure is
   * recorded on the item, emitted and logged, then `onFailed` runs; nothing is retried once the
   * lease is lost, and an item already done (or deleted) is skipped.
   */
  async #attemptItem(
    run: {
      deploymentId: string;
      item: DeploymentItemRecord;
      lease: DeploymentLease;
      emit: (e: DeploymentEvent) => void;
      failures: Array<{ name: string; error: string }>;
      logMessage: string;
    },
    work: () => Promise<void>,
    onFailed?: () => Promise<void>,
  ): Promise<void> {
    const { deploymentId, item, lease, emit, failures } = run;
    const store = this.#deps.store;
    if (item.status === 'done' || item.status === 'deleted') return;
    for (let attempt = 1; ; attempt++) {
      if (lease.lost) return;
      try {
        await store.deployments.updateItem(deploymentId, item.name, {
          attempt: item.attempt + attempt,
          updatedAt: this.#clock.now(),
        });
        await work();
        return;
      } catch (error) {
        if (attempt < 3 && RETRY_ITEM(error)) {
          await this.#clock.sleep(backoffDelay(attempt, ITEM_BACKOFF));
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ name: item.name, error: message });
        await store.deployments.updateItem(deploymentId, item.name, {
          status: 'failed',
          error: message.slice(0, 1000),
          updatedAt: this.#clock.now(),
        });
        emit({
          type: 'failed',
          deploymentId,
          name: item.name,
          reason: message,
          ...(error instanceof LabError ? { code: error.code } : {}),
        });
        this.#logger.error(run.logMessage, { deploymentId, name: item.name, error });
        await onFailed?.();
        return;
      }
    }
  }

  /** Stops and purges one VM and forgets it. */
  async destroyVm(clusterId: string, vmid: number, actor = 'system'): Promise<void> {
    await destroyVm(this.#teardown, this.#deps.clusters.get(clusterId), clusterId, vmid, actor);
  }

  /**
   * Takes an existing VM into a class explicitly (`lab adopt`): tags it for the class and role and
   * assigns it (to `personId` for a student VM). The way to resolve a `VmNameConflictError`.
   */
  async adoptVm(input: AdoptVmRequest): Promise<{ node: string; name: string }> {
    return adoptVm({ store: this.#deps.store, timing: this.#timing }, this.#deps.clusters.get(input.clusterId), input);
  }

  /**
   * Stops and purges every VM of a class — found by its exact tags or the store's assignments,
   * never by name — linked clones before the base templates, and takes them out of the store.
   * Safe to run again after an interruption; refused while a deployment of the class runs.
   */
  async destroyClass(
    classId: string,
    options: { clusterId?: string; actor?: string; onEvent?: (e: DeploymentEvent) => void } = {},
  ): Promise<{ destroyed: number[] }> {
    const lease = await this.#deps.store.sync.getLease(deploymentLeaseName(classId));
    if (this.#active.has(classId) || (lease && lease.expiresAt >= this.#clock.now()))
      throw await this.#inProgress(classId);
    const clusterIds = options.clusterId ? [options.clusterId] : this.#deps.clusters.ids();
    return destroyClassVms({ ...this.#teardown, clusters: this.#deps.clusters }, classId, clusterIds, options);
  }
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { withRetryBudget } from '../pve/budgeted-api.js';
import { RetryBudget, type RetryBudgetOptions } from '../ports/retry-budget.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { SourceFacts } from '../cloning/clone-vm.js';
import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord, DeploymentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { InvalidDeploymentError, parseClassSpec, type ClassSpecInput } from './class-spec.js';
import {
  clearLabDefinition,
  labRoleOfVm,
  labRoleSpecs,
  setLabDefinition,
  type LabDefinitionInput,
} from './lab-definition.js';
import type { LabDefinitionRecord } from '../store/lab-definition-repository.js';
import { DeleteConfirmationRequiredError, PlanChangedError } from './deployment-errors.js';
import { EventChannel, type DeploymentEvent } from './deployment-events.js';
import { DeploymentLease, deploymentLeaseName } from './deployment-lease.js';
import { ClusterThrottle, DefaultDeploymentLimits, type DeploymentLimits } from './deployment-limits.js';
import { readClassPlan, type ClassPlan } from './plan-class.js';
import { assertPrivileges, privilegesForPlan } from './permission-preflight.js';
import { pveResources } from '../pve/pve-resources.js';
import { baseVersionUsage, isPublishPlan, type BaseVersionUsage, type PublishPlan } from './publish-base.js';
import { cloudInitStep } from './cloud-init.js';
import { networkStep } from './network-step.js';
import { isResetPlan, type ConfigureStudentVm, type ResetPlan } from './vm-reset.js';
import { deletesOf, itemsOf, type StoredSpec } from './deployment-items.js';
import type { DeploymentSummary } from './deployment-summary.js';
import { destroyClassVms, destroyVm, type TeardownDeps } from './deployment-teardown.js';
import {
  ensureLabNetworks,
  planLabNetworks,
  releaseLabNetworks,
  seatsOfPlans,
  teardownLabNetworks,
  type ClassNetworksOf,
  type LabNetworks,
  type LabSeats,
} from './lab-networks.js';
import { DeploymentClaims, type DeploymentClaim } from './deployment-claims.js';
import { recordDeployment } from './deployment-record.js';
import { runClassDeployment } from './deployment-run.js';
import { planPublish, type PublishRequest } from './plan-publish.js';
import { planReset, type ResetRequest } from './plan-reset.js';
import { runResetOrPublish } from './reset-publish-run.js';
import { adoptVm, type AdoptVmRequest } from './adopt-vm.js';
import type { RegistrationDeps } from './vm-registration.js';
import type { DeploymentTiming } from './deployment-timing.js';
import { checkClassPin } from './class-pin.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';

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
  /**
   * How many times faster than a real cluster the clusters run (a time-scaled simulator): a task's
   * first status read waits its expected duration divided by this. @defaultValue 1
   */
  timeScale?: number;
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
   * Whether VMs of a class with networks (recorded by `ClassNetworks.ensure`) get `net0` on their
   * VNet before their first boot; a class without network records is never changed. `false` turns
   * it off. @defaultValue true
   */
  classNetworks?: boolean;
  /**
   * Each cluster's class networks service (`ClassNetworks`), when the installation configured `sdn`:
   * `ensureLabNetworks` builds a class's networks with it before a deploy, and `destroyClass`
   * removes them after the class's VMs. Without it, a class asking for private networks is refused
   * (`SdnNotConfiguredError`).
   */
  networks?: ClassNetworksOf;
  /**
   * The retries one deployment run may spend on failed PVE requests, across all its VMs; each
   * planning (`plan`, `planReset`, `planPublish`, the privilege check) gets a budget of its own.
   * @defaultValue `{ ratio: 0.2, minRetries: 10, maxAttemptsPerRequest: 5 }`
   */
  retryBudget?: RetryBudgetOptions;
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

/**
 * How long what `plan()` read (the source template's config, the passed privilege check) is
 * trusted by `apply()`; an older plan is checked again before its lease is taken.
 */
const PLAN_READINGS_TTL_MS = 60_000;

/** What `plan()` read from PVE and `apply()` reuses instead of asking again. */
interface PlanReadings {
  sourceFacts: SourceFacts;
  /** When the plan's privileges were checked (engine clock). */
  checkedAt: number;
}

/** A deployment just recorded, with the source config its plan read (a class deployment's). */
interface RecordedRun {
  id: string;
  sourceFacts?: SourceFacts;
}

/** A running deployment: its id, its events, and its end. */
export interface DeploymentHandle {
  id: string;
  events: AsyncIterable<DeploymentEvent>;
  done: Promise<DeploymentSummary>;
}

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
  readonly #active: DeploymentClaims;
  /** Per cluster, the node and storage limits every class deployment of this engine shares. */
  readonly #throttles = new Map<string, ClusterThrottle>();
  /** What each plan this engine made read, keyed by the plan object `apply()` is handed. */
  readonly #readings = new WeakMap<ClassPlan, PlanReadings>();

  constructor(deps: DeploymentEngineDeps) {
    checkOptions('new DeploymentEngine', deps, { ...STORE_AND_CLUSTERS, catalog: 'object' }, PORT_HINTS);
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger ?? silentLogger;
    this.#limits = { ...DefaultDeploymentLimits, ...deps.limits };
    this.#instanceId = deps.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#leaseTtlMs = deps.leaseTtlMs ?? 30_000;
    this.#active = new DeploymentClaims(deps.store, { clock: this.#clock, ttlMs: this.#leaseTtlMs });
    this.#timing = {
      clock: this.#clock,
      logger: this.#logger,
      pollIntervalMs: deps.pollIntervalMs ?? 1000,
      cloneTimeoutMs: deps.cloneTimeoutMs ?? 30 * 60_000,
      cloneLostAnswerGraceMs: deps.cloneLostAnswerGraceMs,
      timeScale: deps.timeScale,
    };
    this.#teardown = { store: deps.store, timing: this.#timing };
    const configure =
      deps.configureStudentVm === false
        ? undefined
        : (deps.configureStudentVm ?? cloudInitStep({ store: deps.store, logger: this.#logger }));
    // A class with networks (`ClassNetworks.ensure` recorded them) gets its VMs' net0 first; one
    // without keeps the template's bridge.
    this.#configure =
      deps.classNetworks === false ? configure : networkStep({ store: deps.store, logger: this.#logger }, configure);
    this.#registration = {
      store: deps.store,
      catalog: deps.catalog,
      timing: this.#timing,
      configure: this.#configure,
      ...(deps.classNetworks === false
        ? {}
        : { placeTeacher: networkStep({ store: deps.store, logger: this.#logger }) }),
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
      throw await this.#active.inProgress(classId);
    const planning = this.#planningDeps();
    const { plan, sourceFacts } = await readClassPlan(planning, spec);
    await this.#preflight(planning, plan, sourceFacts.config);
    this.#readings.set(plan, { sourceFacts, checkedAt: this.#clock.now() });
    return plan;
  }

  /**
   * Pins class `classId` to `nodes` (its students are placed only there, spread over them), or
   * removes the pin with `null`. Every node must exist and see the storage of the class's template
   * (`ClassPinError` says which does not); the change is audited as `class.pin`.
   * @returns the pin as saved (sorted, without duplicates), or null
   */
  async pinClass(classId: string, nodes: readonly string[] | null, actor = 'system'): Promise<string[] | null> {
    const pinned = nodes === null ? null : await checkClassPin(this.#deps, classId, nodes);
    const now = this.#clock.now();
    await this.#deps.store.transaction(async (tx) => {
      await tx.classes.updateClass(classId, { pinnedNodes: pinned });
      await tx.audit.record({
        at: now,
        actor,
        action: 'class.pin',
        target: classId,
        outcome: 'ok',
        details: { nodes: pinned },
      });
    });
    return pinned;
  }

  /** What `plan()` read for `plan`, while it is fresh enough to trust. */
  #freshReadings(plan: ClassPlan): PlanReadings | undefined {
    const readings = this.#readings.get(plan);
    return readings && this.#clock.now() - readings.checkedAt <= PLAN_READINGS_TTL_MS ? readings : undefined;
  }

  /**
   * The cluster's API for one deployment run and its new `RetryBudget`: every retry of its requests
   * is charged to it, and the domain code gets it explicitly (a clone resent after a lost answer).
   */
  #budgetedApi(clusterId: string): { api: PveApi; retryBudget: RetryBudget } {
    const retryBudget = new RetryBudget(this.#deps.retryBudget);
    return { api: withRetryBudget(this.#deps.clusters.get(clusterId), retryBudget), retryBudget };
  }

  /**
   * The engine's dependencies with every cluster's API charged to one new `RetryBudget`: what a
   * plan reads through, so a read PVE fails transiently (a 5xx, a reset connection) gets the
   * deployment run's retries (`retryBudget.maxAttemptsPerRequest` attempts, with the client's
   * backoff) rather than the client's own few. A refusal (a 403, a missing privilege) is not retried.
   */
  #planningDeps(): DeploymentEngineDeps {
    const retryBudget = new RetryBudget(this.#deps.retryBudget);
    const clusters = this.#deps.clusters;
    return {
      ...this.#deps,
      clusters: {
        ids: () => clusters.ids(),
        get: (clusterId) => withRetryBudget(clusters.get(clusterId), retryBudget),
      },
    };
  }

  /**
   * Fails with `PvePermissionError` before anything is cloned when the lab's token lacks a privilege
   * the plan needs; reads through `planning` (`#planningDeps`).
   */
  async #preflight(
    planning: DeploymentEngineDeps,
    plan: ClassPlan,
    sourceConfig?: Record<string, unknown>,
  ): Promise<void> {
    const api = planning.clusters.get(plan.clusterId);
    const config = sourceConfig ?? (await pveResources(api).qemu(plan.source.node, plan.source.vmid).config());
    await assertPrivileges(api, privilegesForPlan(plan, config));
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
    const claim = {
      ...(plan.spec.requestedBy ? { startedBy: plan.spec.requestedBy } : {}),
      startedAt: this.#clock.now(),
    };
    // Reused from plan() when fresh: the source's config and the passed privilege check.
    let readings = this.#freshReadings(plan);
    return this.#launch(
      classId,
      claim,
      options.onEvent,
      async (hadStale) => {
        if (hadStale) {
          // An interrupted deployment of the class was finished first: the cluster changed, plan again.
          const fresh = await readClassPlan(this.#planningDeps(), plan.spec);
          const confirmed = new Set(deletesOf(plan).map((d) => d.vmid));
          if (deletesOf(fresh.plan).some((d) => !confirmed.has(d.vmid)))
            throw new PlanChangedError(classId, 'it would now delete other VMs');
          plan = fresh.plan;
          readings = { sourceFacts: fresh.sourceFacts, checkedAt: this.#clock.now() };
        }
        const id = randomUUID();
        const now = this.#clock.now();
        await recordDeployment(
          this.#deps.store,
          {
            id,
            classId,
            clusterId: plan.clusterId,
            spec: { spec: plan.spec, plan } satisfies StoredSpec,
            createdBy: plan.spec.requestedBy,
            now,
            notify: options.notify ?? null,
          },
          itemsOf(id, plan, now),
          { action: 'class.deploy', details: { ...plan.counts } },
        );
        return { id, ...(readings ? { sourceFacts: readings.sourceFacts } : {}) };
      },
      readings ? undefined : () => this.#preflight(this.#planningDeps(), plan),
    );
  }

  /** Plans and applies `spec`, waiting for the end. */
  async deploy(spec: ClassSpecInput, options: ApplyOptions = {}): Promise<DeploymentSummary> {
    return (await this.apply(await this.plan(spec), options)).done;
  }

  /**
   * Validates and stores a class's lab definition (`/class set-lab`): the roles each student gets
   * (name, template, optional cores and memory) and the network choice (`network.mode`
   * `bridge | class | student`, `zone`, `internet`), read back as `labDefinition(classId).network`
   * by the network service. Audited as `class.set-lab`; the next deploy acts on it.
   */
  async setLabDefinition(input: LabDefinitionInput): Promise<LabDefinitionRecord> {
    return setLabDefinition({ store: this.#deps.store, catalog: this.#deps.catalog, clock: this.#clock }, input);
  }

  /** The class's lab definition, or undefined for a class with one unnamed role (one VM per student). */
  async labDefinition(classId: string): Promise<LabDefinitionRecord | undefined> {
    return this.#deps.store.labDefinitions.get(classId);
  }

  /** Forgets the class's lab definition (audited); its VMs stay until destroyed. */
  async clearLabDefinition(classId: string, actor = 'system'): Promise<boolean> {
    return clearLabDefinition({ store: this.#deps.store, clock: this.#clock }, { classId, actor });
  }

  /** The lab role a VM plays, from its tags (`labrole-target`); undefined for a class with one unnamed role. */
  static labRoleOf(vm: { tags?: string | null | undefined }): string | undefined {
    return labRoleOfVm(vm);
  }

  /**
   * The class specs a deploy of `spec` runs: one per role of the class's lab definition (the role's
   * template, name, cores and memory), in order; `[spec]` for a class with one unnamed role. `role`
   * keeps one role.
   */
  async labSpecs(spec: ClassSpecInput, role?: string): Promise<ClassSpecInput[]> {
    const { classId } = parseClassSpec(spec);
    return labRoleSpecs(await this.#deps.store.labDefinitions.get(classId), spec, role);
  }

  /**
   * Deploys every role of the class's lab definition, one deployment per role in the
   * definition's order, each planned after the one before ended (so a student's new VMs join the
   * node their other VMs are on); stops after a role that did not end `done`. A class with one
   * unnamed role is one deploy, as {@link deploy}. The private networks the definition asks for
   * are built first ({@link ensureLabNetworks}).
   */
  async deployLab(spec: ClassSpecInput, options: ApplyOptions & { role?: string } = {}): Promise<DeploymentSummary[]> {
    const specs = await this.labSpecs(spec, options.role);
    const first = parseClassSpec(specs[0] ?? spec);
    // Who gets a seat decides which students get a network: each role's plan, read before anything changes.
    const lab = await this.#deps.store.labDefinitions.get(first.classId);
    const plans: ClassPlan[] = [];
    if (lab && lab.network.mode !== 'bridge') for (const s of specs) plans.push(await this.plan(s));
    const ids = this.#deps.clusters.ids();
    // The cluster the deploy targets: the one named, the only one, or the one its plan picks.
    const clusterId =
      first.clusterId ?? (ids.length === 1 ? ids[0]! : (plans[0] ?? (await this.plan(specs[0] ?? spec))).clusterId);
    const seats = plans.length ? seatsOfPlans(plans) : undefined;
    await this.ensureLabNetworks(first.classId, clusterId, seats);
    const summaries: DeploymentSummary[] = [];
    for (const roleSpec of specs) {
      const summary = await this.deploy(roleSpec, options);
      summaries.push(summary);
      if (summary.status !== 'done') break;
    }
    // A whole deploy (every role) that ended done: the networks of students who lost their seat go.
    // Recorded `deleting` first, so one cut short is finished by the next SDN call: the deploy stands.
    if (seats && !options.role && summaries.length === specs.length && summaries.every((s) => s.status === 'done'))
      await this.releaseLabNetworks(first.classId, clusterId, seats).catch((error: unknown) =>
        this.#logger.warn('the networks of students without a seat are not all removed yet', {
          classId: first.classId,
          error,
        }),
      );
    return summaries;
  }

  /**
   * What a reset would re-create: the students' VMs of the class (name, VMID, node, whether it
   * runs) and the class's newest base version they are cloned from. Nothing changes yet.
   */
  async planReset(request: ResetRequest): Promise<ResetPlan> {
    return planReset(this.#planningDeps(), request);
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
    return planPublish(this.#planningDeps(), request);
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

  /**
   * The base versions of each role of a class with several VMs per student (`cs101-target-base`,
   * `cs101-target-base-v2`, …; notes and dates of a role's from its publish), in the definition's
   * order, then the unnamed role's when VMs from before the roles left some; a class without roles
   * is one entry with role null. `role` keeps one role (an unknown one → `InvalidDeploymentError`
   * naming the roles).
   */
  async labBaseVersions(
    classId: string,
    options: { role?: string; clusterId?: string } = {},
  ): Promise<Array<{ role: string | null; versions: BaseVersionUsage[] }>> {
    const clusterId = options.clusterId ?? this.#deps.clusters.ids()[0];
    if (!clusterId) return [];
    const lab = await this.#deps.store.labDefinitions.get(classId);
    // Validates the role the same way a deploy does.
    const roles = labRoleSpecs(lab, { classId, count: 0 }, options.role).map((s) => s.labRole?.name ?? null);
    const api = this.#deps.clusters.get(clusterId);
    const out: Array<{ role: string | null; versions: BaseVersionUsage[] }> = [];
    for (const role of roles)
      out.push({
        role,
        versions: await baseVersionUsage(this.#deps.store, api, clusterId, classId, role ?? undefined),
      });
    if (lab && !options.role) {
      const unnamed = await baseVersionUsage(this.#deps.store, api, clusterId, classId);
      if (unnamed.length) out.push({ role: null, versions: unnamed });
    }
    return out;
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
    return this.#launch(classId, { startedBy: requestedBy, startedAt: now }, options.onEvent, async () => {
      const id = randomUUID();
      await recordDeployment(
        this.#deps.store,
        { id, classId, clusterId, spec, createdBy: requestedBy, now, notify: options.notify ?? null },
        items.map((i) => ({ ...i, deploymentId: id, status: 'pending', attempt: 0, error: null, updatedAt: now })),
        audit,
      );
      return { id };
    });
  }

  /**
   * Claims the class in this process (before the first await, so two applies of one class in one
   * process — two teachers in one bot — cannot both pass), runs `before`, takes the class's lease,
   * finishes any deployment of the class a dead process left, then records the new deployment with
   * `record` and starts it. On any failure the lease and the claim are given up.
   */
  async #launch(
    classId: string,
    claim: DeploymentClaim,
    onEvent: ((e: DeploymentEvent) => void) | undefined,
    record: (hadStale: boolean) => Promise<RecordedRun>,
    before?: () => Promise<void>,
  ): Promise<DeploymentHandle> {
    if (this.#active.has(classId)) throw await this.#active.inProgress(classId);
    this.#active.claim(classId, claim);
    let lease: DeploymentLease | undefined;
    try {
      await before?.();
      lease = await DeploymentLease.acquire(this.#leaseDeps(), classId, this.#instanceId, this.#leaseTtlMs);
      if (!lease) throw await this.#active.inProgress(classId);
      const stale = (await this.#deps.store.deployments.unfinished()).filter((d) => d.classId === classId);
      for (const d of stale) {
        this.#logger.warn('finishing an interrupted deployment of the class first', { deploymentId: d.id, classId });
        await this.#run(d.id, lease, () => undefined);
      }
      const recorded = await record(stale.length > 0);
      return this.#start(recorded, classId, lease, onEvent);
    } catch (error) {
      await lease?.release();
      this.#active.release(classId);
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
      this.#active.claim(d.classId, { startedBy: d.createdBy, startedAt: d.createdAt });
      const lease = await DeploymentLease.acquire(
        this.#leaseDeps(),
        d.classId,
        this.#instanceId,
        this.#leaseTtlMs,
      ).catch(() => undefined);
      const current = lease && (await this.#deps.store.deployments.get(d.id));
      if (!lease || !current || (current.status !== 'planned' && current.status !== 'running')) {
        await lease?.release();
        this.#active.release(d.classId);
        continue;
      }
      this.#logger.info('taking over deployment', { deploymentId: d.id, classId: d.classId });
      const summary = await this.#start({ id: d.id }, d.classId, lease, options.onEvent).done;
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

  #start(
    recorded: RecordedRun,
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
    const { id } = recorded;
    const done = this.#run(id, lease, emit, recorded.sourceFacts).finally(async () => {
      await lease.release();
      this.#active.release(classId);
      channel.end();
    });
    return { id, events: channel, done };
  }

  /** Runs a recorded deployment to its end: a class deployment, a reset or a publish. */
  async #run(
    id: string,
    lease: DeploymentLease,
    emit: (e: DeploymentEvent) => void,
    sourceFacts?: SourceFacts,
  ): Promise<DeploymentSummary> {
    const deployment = await this.#deps.store.deployments.get(id);
    if (!deployment) throw new InvalidDeploymentError(`no deployment '${id}'`);
    // A deployment taken over from a process that died is timed from its start, not from the take-over.
    const started = deployment.createdAt;
    const spec = deployment.spec;
    if (isResetPlan(spec) || isPublishPlan(spec)) {
      const deps = { store: this.#deps.store, timing: this.#timing, limits: this.#limits, configure: this.#configure };
      const { api, retryBudget } = this.#budgetedApi(spec.clusterId);
      return runResetOrPublish(deps, api, { id, started, retryBudget }, spec, lease, emit);
    }
    const { plan } = spec as StoredSpec;
    let clusterThrottle = this.#throttles.get(plan.clusterId);
    if (!clusterThrottle) {
      clusterThrottle = new ClusterThrottle(this.#limits);
      this.#throttles.set(plan.clusterId, clusterThrottle);
    }
    const deps = {
      store: this.#deps.store,
      timing: this.#timing,
      limits: this.#limits,
      clusterThrottle,
      registration: this.#registration,
    };
    const { api, retryBudget } = this.#budgetedApi(plan.clusterId);
    return runClassDeployment(deps, api, { id, plan, started, sourceFacts, retryBudget }, lease, emit);
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
  ): Promise<{ destroyed: number[]; networksRemoved: string[]; networksLeft: string[] }> {
    const lease = await this.#deps.store.sync.getLease(deploymentLeaseName(classId));
    if (this.#active.has(classId) || (lease && lease.expiresAt >= this.#clock.now()))
      throw await this.#active.inProgress(classId);
    const clusterIds = options.clusterId ? [options.clusterId] : this.#deps.clusters.ids();
    const result = await destroyClassVms(
      { ...this.#teardown, clusters: this.#deps.clusters },
      classId,
      clusterIds,
      options,
    );
    // The networks go once the VMs on them are gone (PVE would let a VNet in use be deleted).
    const networks = await teardownLabNetworks(this.#deps, classId, clusterIds);
    if (networks.left.length)
      this.#deps.logger?.warn('class networks left: no sdn settings for their cluster', {
        classId,
        clusterIds: networks.left,
      });
    return { ...result, networksRemoved: networks.removed, networksLeft: networks.left };
  }

  /**
   * Builds the private networks the class's lab definition asks for (`network.mode` `class` or
   * `student`) on `clusterId` — one for the class, or one per student `seats` seats (each enrolled
   * student without it) and one for the teacher VMs — before a deploy creates its VMs, so they get
   * `net0` on them. Undefined for a class on its templates' bridge.
   * Private networks without `networks` (no `sdn` settings) → `SdnNotConfiguredError`.
   */
  async ensureLabNetworks(classId: string, clusterId?: string, seats?: LabSeats): Promise<LabNetworks | undefined> {
    return ensureLabNetworks(this.#deps, classId, clusterId ?? this.#deps.clusters.ids()[0] ?? 'default', seats);
  }

  /**
   * After a whole deploy of a class with a network per student ended: removes the networks of the
   * students `seats` (from {@link seatsOfPlans} over the deploy's plans) no longer seats, once the
   * class has no VM of theirs left; a crash half-way is finished by the next SDN call.
   */
  async releaseLabNetworks(
    classId: string,
    clusterId: string,
    seats: LabSeats,
  ): Promise<{ removed: string[]; kept: string[] }> {
    return releaseLabNetworks(this.#deps, classId, clusterId, seats);
  }

  /** Who the plans of one deploy (one per role) seat, for {@link ensureLabNetworks} and {@link releaseLabNetworks}. */
  static seatsOf(plans: readonly ClassPlan[]): LabSeats {
    return seatsOfPlans(plans);
  }

  /**
   * What {@link ensureLabNetworks} would build on `clusterId`, without changing anything (for a
   * deploy's plan). Undefined for a class on its templates' bridge; `SdnNotConfiguredError` as there.
   */
  async planLabNetworks(classId: string, clusterId?: string, seats?: LabSeats): Promise<LabNetworks | undefined> {
    return planLabNetworks(this.#deps, classId, clusterId ?? this.#deps.clusters.ids()[0] ?? 'default', seats);
  }

  /** Whether private networks can be built on `clusterId` (the engine was given `networks` and it names the cluster). */
  hasNetworks(clusterId?: string): boolean {
    return Boolean(this.#deps.networks?.(clusterId ?? this.#deps.clusters.ids()[0] ?? 'default'));
  }
}

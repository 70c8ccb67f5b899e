import { withServerErrorRetries } from '../pve/budgeted-api.js';
import type { SourceFacts } from '../cloning/clone-vm.js';
import type { GuestState } from './guest-state.js';
import type { RetryBudget } from '../ports/retry-budget.js';
import type { PveApi } from '../ports/pve-api.js';
import type { Store } from '../store/store.js';
import { InvalidDeploymentError } from './class-spec.js';
import type { DeploymentEvent } from './deployment-events.js';
import { annotate, type Item } from './deployment-items.js';
import type { DeploymentLease } from './deployment-lease.js';
import { DeploymentThrottle, type ClusterThrottle, type DeploymentLimits } from './deployment-limits.js';
import { reconcileDeployment } from './deployment-reconcile.js';
import type { DeploymentSummary, SummaryVm } from './deployment-summary.js';
import { deleteItem, removeHalfMade } from './deployment-teardown.js';
import type { DeploymentTiming } from './deployment-timing.js';
import { attemptItem } from './item-attempt.js';
import type { ClassPlan } from './plan-class.js';
import { replanOntoBaseCopies, type ReplannedVm } from './replan-students.js';
import {
  ensureReplica,
  ensureVm,
  replicaStartsLinked,
  type ClassRun,
  type RegistrationDeps,
} from './vm-registration.js';

/** What running a class deployment needs. */
export interface ClassRunDeps {
  store: Store;
  timing: DeploymentTiming;
  limits: DeploymentLimits;
  /** The node and storage limits shared with the engine's other deployments on the cluster. */
  clusterThrottle?: ClusterThrottle | undefined;
  registration: RegistrationDeps;
}

/**
 * Runs a recorded class deployment: the teacher VM beside the chain base → copies → students, each
 * clone under the node, storage and global limits, then the confirmed deletes; reconciles the store
 * with the cluster at the end and says in the summary what does not match.
 */
export async function runClassDeployment(
  deps: ClassRunDeps,
  api: PveApi,
  deployment: {
    id: string;
    plan: ClassPlan;
    started: number;
    sourceFacts?: SourceFacts | undefined;
    retryBudget?: RetryBudget | undefined;
  },
  lease: DeploymentLease,
  emit: (e: DeploymentEvent) => void,
): Promise<DeploymentSummary> {
  const { id, plan, started } = deployment;
  const { store, timing } = deps;
  const classId = plan.spec.classId;
  const items = (await store.deployments.items(id)).map((i) => annotate(i, plan));
  await store.deployments.update(id, { status: 'running' }, timing.clock.now());
  emit({ type: 'planned', deploymentId: id, classId, ...plan.counts });
  const failures: Array<{ name: string; error: string }> = [];
  const removed: SummaryVm[] = [];
  const replanned: ReplannedVm[] = [];

  const guard = (item: Item, work: () => Promise<void>): Promise<void> =>
    attemptItem(
      deps,
      { deploymentId: id, item, lease, emit, failures, logMessage: 'deployment item failed' },
      work,
      async () => {
        const gone = await removeHalfMade(deps, api, plan.clusterId, id, item.name).catch((e: unknown) =>
          timing.logger.warn('could not remove a half-made VM', { name: item.name, error: e }),
        );
        if (gone) removed.push(gone);
      },
    );
  const byRole = (role: Item['role']) => items.filter((i) => i.role === role && i.action !== 'delete');
  const itemState = async (name: string) => (await store.deployments.items(id)).find((i) => i.name === name);

  // The teacher VM (a full clone) runs beside the chain base → replicas → students. Every clone
  // takes a node, a storage and a global slot, in that order, so a busy node holds no global slot;
  // it holds them until its task ends, not through the cloud-init, tag and register steps after it.
  const run: ClassRun = {
    api,
    plan,
    deploymentId: id,
    emit,
    sourceFacts: deployment.sourceFacts,
    retryBudget: deployment.retryBudget,
  };
  const throttle = new DeploymentThrottle(deps.limits, deps.clusterThrottle);
  const storageKey = (node: string): string => (plan.storage.shared ? plan.storage.id : `${node}/${plan.storage.id}`);
  const slot =
    (node: string) =>
    <T>(work: (copying: () => void) => Promise<T>) =>
      throttle.run(node, storageKey(node), () => work(() => {}));
  // A full copy holds a copy slot of its storage throughout, and the node and storage slots only
  // for its allocations, so twenty teachers' copies on one storage do not keep its students waiting.
  const copySlot =
    (node: string) =>
    <T>(work: (copying: () => void, copiesAtOnce?: number) => Promise<T>) =>
      throttle.runCopy(node, storageKey(node), work);
  // Which of the teacher's clone and the base's goes to the storage lock first. On shared storage
  // the base: it gates every student, they all take the one lock the teacher's allocations take,
  // and the teacher's copy (through the pool's throughput) is rarely the longest chain, so the
  // teacher allocates while the base is converted. On local storage the teacher, when its copy can
  // start at once: there its copy is the longest chain, and the base waits only for its allocations.
  // But when the base is copied to other nodes, those copies (a clone, a migration, the students
  // there) are the longest chain, and the base goes first there too. Going first, the base's clone
  // is asked for alone: the teacher's only once the base has begun its last allocation, so the
  // teacher's allocations queue at the lock behind the base's (a clone takes the lock once per
  // drive, and one asked for meanwhile would take it between them) and run while the base is
  // converted.
  const teachers = byRole('teacher');
  const baseFirst = plan.storage.shared || byRole('replica').length > 0;
  let baseSent = (): void => {};
  const baseOnItsWay = new Promise<void>((resolve) => (baseSent = resolve));
  let teacherSent = (): void => {};
  const teacherOnItsWay = new Promise<void>((resolve) => (teacherSent = resolve));
  const teacherFirst =
    !baseFirst &&
    teachers.some((t) => t.vmid === null) &&
    teachers[0]?.node === plan.base.node &&
    throttle.copySlotFree(storageKey(teachers[0].node));
  if (!teacherFirst) teacherSent();
  const teacherWork = (async () => {
    if (baseFirst) await baseOnItsWay;
    await Promise.all(
      teachers.map((t, i) =>
        guard(t, async () => {
          await ensureVm(deps.registration, run, t, plan.source, copySlot(t.node!), {
            ...(i === 0 ? { sending: teacherSent } : {}),
          });
        }).finally(() => i === 0 && teacherSent()),
      ),
    );
  })();
  // What each base template (the base, its copies) looked like once converted: its students'
  // clones need not read it again.
  const facts: Record<string, SourceFacts> = {};
  const known = (state: GuestState) =>
    (facts[state.node] = { config: state.config, bootStorageType: plan.storage.type });
  const studentChain = async (): Promise<void> => {
    const [baseItem] = byRole('base');
    await teacherOnItsWay;
    // The copies and students start once the base is a template, while it is registered.
    let fromBase: Promise<void> | undefined;
    const startFromBase = (base: { node: string; vmid: number }): void => {
      if (fromBase) return;
      fromBase = fromTemplate(base);
      // Awaited below, once the base's own steps are done; until then a failure must not go unheard.
      fromBase.catch(() => {});
    };
    if (baseItem)
      await guard(baseItem, async () => {
        await ensureVm(deps.registration, run, baseItem, plan.source, slot(baseItem.node!), {
          atLastAllocation: baseSent,
          onTemplate: (state) => {
            known(state);
            startFromBase({ node: state.node, vmid: baseItem.vmid! });
          },
        });
      }).finally(baseSent);
    else baseSent();
    if (!fromBase) {
      const base = baseItem ? await itemState(baseItem.name) : undefined;
      if (base?.status !== 'done' || base.vmid === null) return;
      startFromBase({ node: base.node!, vmid: base.vmid });
    }
    await fromBase;
  };
  const fromTemplate = async (base: { node: string; vmid: number }): Promise<void> => {
    const copies: Record<string, number> = { ...plan.baseCopies, [base.node]: base.vmid };
    // One failed read must not cost every student of a node: a replica's reads are retried after
    // any 500 under the client's retry policy.
    const replicaRun: ClassRun = { ...run, api: withServerErrorRetries(api) };
    // Read only when a copy failed and its students move: not on the way to the first copy's clone.
    const memoryMiB = async () =>
      plan.storage.shared ? 0 : ((await store.templates.getByName(plan.templateName))?.memory ?? 0);
    const cloneStudent = (s: Item) =>
      guard(s, async () => {
        const sourceNode = plan.storage.shared ? base.node : s.node!;
        const sourceVmid = copies[sourceNode];
        if (sourceVmid === undefined && s.vmid === null)
          throw new InvalidDeploymentError(
            `the base template of ${classId} is not on ${sourceNode}, so ${s.name} cannot be cloned there`,
          );
        await ensureVm(
          deps.registration,
          run,
          s,
          { node: sourceNode, vmid: sourceVmid ?? base.vmid, facts: facts[sourceNode] },
          slot(s.node!),
        );
      });
    // Each copy of the base is asked for before the students of the nodes that have one, so the copies'
    // clones come first at the base node's storage lock; those students then run while the copies
    // move, and each node's students start as soon as its own copy is there. The copies' clones
    // take the engine's lane at the base's storage (`CopyCloneLane`): one after the other, each once
    // the one before has begun its last allocation, the copy with the most students first.
    const studentsOn = (node: string | null) => byRole('student').filter((s) => s.node === node).length;
    const replicas = byRole('replica')
      .map((r, i) => ({ r, i }))
      .sort((a, b) => studentsOn(b.r.node) - studentsOn(a.r.node) || a.i - b.i)
      .map(({ r }) => r);
    let unsent = replicas.length;
    let allSent: () => void = () => {};
    const copiesSent = new Promise<void>((resolve) => (allSent = resolve));
    const sent = () => {
      if (--unsent <= 0) allSent();
    };
    if (unsent === 0) allSent();
    const replicaChains = replicas.map(async (r) => {
      const waiting = () => byRole('student').filter((s) => s.node === r.node);
      let once = false;
      const sentOnce = () => {
        if (once) return;
        once = true;
        sent();
      };
      const turn = throttle.enterCopyLane(storageKey(base.node), {
        targetStorage: storageKey(r.node!),
        students: studentsOn(r.node),
      });
      const atLastAllocation = () => {
        sentOnce();
        void turn.then((leave) => leave());
      };
      // The copy's clone goes ahead of the students at the base node's slots (a full clone also
      // takes a copy slot there); its migration waits until no other migration, of this
      // deployment or another the engine runs, goes into the target's storage.
      const at = storageKey(base.node);
      let studentsThere: Promise<void> | undefined;
      const startStudents = (): Promise<void> => {
        if (!studentsThere) {
          studentsThere = Promise.all(waiting().map(cloneStudent)).then(() => {});
          studentsThere.catch(() => {});
        }
        return studentsThere;
      };
      await guard(r, async () => {
        known(
          await ensureReplica(
            deps.registration,
            replicaRun,
            r,
            { node: base.node, vmid: base.vmid, facts: facts[base.node] },
            replicaStartsLinked(plan.storage)
              ? async (work) => {
                  await turn;
                  return throttle.runFirst(base.node, at, () => work(() => {}));
                }
              : async (work) => {
                  await turn;
                  return throttle.runCopy(base.node, at, work);
                },
            (work) => throttle.runMigration(storageKey(r.node!), work),
            {
              atLastAllocation,
              // Its students start once it is a template there, while it is registered.
              onTemplate: (state) => {
                known(state);
                copies[state.node] = r.vmid!;
                void startStudents();
              },
            },
          ),
        );
      });
      atLastAllocation();
      if (studentsThere) return studentsThere;
      const state = await itemState(r.name);
      if (state?.status === 'done' && state.vmid !== null) copies[state.node!] = state.vmid;
      const students = waiting();
      if (copies[r.node!] === undefined && !plan.storage.shared) {
        // The copy failed: its students go to the nodes that have the base.
        const moved = await replanOntoBaseCopies(deps, api, id, students, copies, (await memoryMiB()) * 1024 * 1024);
        replanned.push(...moved);
        for (const m of moved)
          timing.logger.warn('moved a student to a node with the base template; its copy failed', { ...m });
      }
      await Promise.all(students.map(cloneStudent));
    });
    const replicaNodes = new Set(replicas.map((r) => r.node));
    await copiesSent;
    await Promise.all([
      ...replicaChains,
      ...byRole('student')
        .filter((s) => !replicaNodes.has(s.node))
        .map(cloneStudent),
    ]);
  };
  await Promise.all([teacherWork, studentChain()]);

  // Scale-down, confirmed when the plan was applied: only VMs that are still the class's.
  for (const d of items.filter((i) => i.action === 'delete')) {
    await guard(d, () => deleteItem(deps, api, { clusterId: plan.clusterId, classId, deploymentId: id, emit }, d));
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
    ...(replanned.length ? { replanned } : {}),
  };
  if (lease.lost) {
    const summary: DeploymentSummary = {
      ...base,
      status: 'interrupted',
      orphans: [],
      unregistered: [],
      duplicates: [],
      durationMs: timing.clock.now() - started,
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
  const check = await reconcileDeployment(deps, api, plan, id, finalItems);
  removed.push(...check.removed);
  const problems = [
    ...failures.map((f) => `${f.name}: ${f.error}`),
    ...check.missing.map((m) => `${m} is missing on the cluster`),
    ...check.orphans.map((o) => `orphan ${o.name} (${o.vmid}) on ${o.node}`),
    ...check.unregistered.map((o) => `unregistered ${o.name} (${o.vmid}) on ${o.node}`),
    ...check.duplicates.map((n) => `more than one VM is named ${n}`),
  ];
  const status = problems.length ? 'failed' : 'done';
  const finishedAt = timing.clock.now();
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

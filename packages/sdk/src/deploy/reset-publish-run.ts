import type { RetryBudget } from '../ports/retry-budget.js';
import type { PveApi } from '../ports/pve-api.js';
import type { Store } from '../store/store.js';
import type { DeploymentEvent } from './deployment-events.js';
import type { DeploymentLease } from './deployment-lease.js';
import { DeploymentThrottle, type DeploymentLimits } from './deployment-limits.js';
import type { DeploymentSummary } from './deployment-summary.js';
import { pruneOldBases } from './deployment-teardown.js';
import type { DeploymentTiming } from './deployment-timing.js';
import { attemptItem } from './item-attempt.js';
import { publishItem, type PublishPlan } from './publish-base.js';
import { resetOneVm, type ConfigureStudentVm, type ResetPlan } from './vm-reset.js';

/** What running a reset or a publish needs. */
export interface ItemsRunDeps {
  store: Store;
  timing: DeploymentTiming;
  limits: DeploymentLimits;
  /** Per-student configuration of a re-created student VM; none when undefined. */
  configure: ConfigureStudentVm | undefined;
}

/** Runs a reset or a publish: its items under the limits (a publish's copies after its base), then prunes unused old bases. */
export async function runResetOrPublish(
  deps: ItemsRunDeps,
  api: PveApi,
  deployment: { id: string; started: number; retryBudget?: RetryBudget | undefined },
  plan: ResetPlan | PublishPlan,
  lease: DeploymentLease,
  emit: (e: DeploymentEvent) => void,
): Promise<DeploymentSummary> {
  const { store, timing } = deps;
  const { id, started } = deployment;
  await store.deployments.update(id, { status: 'running' }, timing.clock.now());
  const items = await store.deployments.items(id);
  emit({ type: 'planned', deploymentId: id, classId: plan.classId, create: items.length, keep: 0, delete: 0 });
  const failures: Array<{ name: string; error: string }> = [];
  const workDeps = {
    store,
    clock: timing.clock,
    logger: timing.logger,
    pollIntervalMs: timing.pollIntervalMs,
    cloneTimeoutMs: timing.cloneTimeoutMs,
    configure: deps.configure,
    retryBudget: deployment.retryBudget,
  };
  const throttle = new DeploymentThrottle(deps.limits);
  const work = plan.kind === 'reset' ? resetOneVm : publishItem;
  const phases =
    plan.kind === 'reset' ? [items] : [items.filter((i) => i.kind === 'base'), items.filter((i) => i.kind !== 'base')];
  for (const phase of phases)
    await Promise.all(
      phase.map((item) =>
        throttle.run(item.node ?? '', item.node ?? '', () =>
          attemptItem(deps, { deploymentId: id, item, lease, emit, failures, logMessage: 'reset of a VM failed' }, () =>
            work(workDeps, api, plan as never, id, item, emit),
          ),
        ),
      ),
    );
  const finalItems = await store.deployments.items(id);
  const created = finalItems.filter((i) => i.status === 'done').length;
  const interrupted = lease.lost;
  let deleted = 0;
  if (!interrupted && plan.kind === 'reset' && failures.length === 0) {
    deleted = await pruneOldBases(deps, api, {
      clusterId: plan.clusterId,
      classId: plan.classId,
      deploymentId: id,
      emit,
    }).catch((error: unknown) => {
      timing.logger.warn('could not remove unused old base versions', { classId: plan.classId, error });
      return 0;
    });
  }
  const status: DeploymentSummary['status'] = interrupted ? 'interrupted' : failures.length ? 'failed' : 'done';
  const finishedAt = timing.clock.now();
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

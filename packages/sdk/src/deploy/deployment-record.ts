import type { DeploymentItemRecord, DeploymentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * Records a new deployment as `planned` with its items, and audits who asked for it; `details`
 * are stored with the deployment's id. A deployment is recorded before any of its work starts,
 * so `resume` or another process can finish it.
 */
export async function recordDeployment(
  store: Store,
  deployment: Pick<DeploymentRecord, 'id' | 'classId' | 'clusterId' | 'spec' | 'createdBy' | 'notify'> & {
    now: number;
  },
  items: DeploymentItemRecord[],
  audit: { action: string; details: Record<string, unknown> },
): Promise<void> {
  const { now, ...fields } = deployment;
  const record: DeploymentRecord = {
    ...fields,
    status: 'planned',
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    error: null,
  };
  await store.deployments.create(record, items);
  await store.audit.record({
    at: now,
    actor: deployment.createdBy,
    action: audit.action,
    target: deployment.classId,
    outcome: 'ok',
    details: { deploymentId: deployment.id, ...audit.details },
  });
}

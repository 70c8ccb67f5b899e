import { LabError } from '../errors/lab-error.js';
import { classifyPveFailure } from '../errors/pve-refusal.js';
import { CloneOutcomeUnknownError } from '../pve/clone-outcome-error.js';
import type { DeploymentItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DOMAIN_RETRY, domainWaitMs } from '../tasks/domain-retry.js';
import type { DeploymentEvent } from './deployment-events.js';
import type { DeploymentLease } from './deployment-lease.js';
import type { DeploymentTiming } from './deployment-timing.js';
import { GuestStillLockedError } from './guest-state.js';

/**
 * Outcomes an item is attempted again for: a guest still locked by PVE (seen by us, or PVE's
 * `VM is locked` at once or in a task), or a clone whose answer was lost after PVE took it (the next
 * attempt adopts the recorded VMID). Transport failures are the client's to retry, under the
 * deployment's retry budget.
 */
const RETRY_ITEM = (error: unknown): boolean =>
  error instanceof GuestStillLockedError ||
  error instanceof CloneOutcomeUnknownError ||
  classifyPveFailure(error)?.reason === 'guest-locked';

/**
 * Runs one item's work, attempting it again (up to `DOMAIN_RETRY.item`, with backoff) after a `RETRY_ITEM` outcome. A final failure is
 * recorded on the item, emitted and logged, then `onFailed` runs; nothing is retried once the
 * lease is lost, and an item already done (or deleted) is skipped.
 */
export async function attemptItem(
  deps: { store: Store; timing: DeploymentTiming },
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
  const { store, timing } = deps;
  if (item.status === 'done' || item.status === 'deleted') return;
  for (let attempt = 1; ; attempt++) {
    if (lease.lost) return;
    try {
      await store.deployments.updateItem(deploymentId, item.name, {
        attempt: item.attempt + attempt,
        updatedAt: timing.clock.now(),
      });
      await work();
      return;
    } catch (error) {
      if (attempt < DOMAIN_RETRY.item.attempts && RETRY_ITEM(error)) {
        await timing.clock.sleep(domainWaitMs(attempt, DOMAIN_RETRY.item.backoff));
        continue;
      }
      const message = error instanceof Error ? error.message : String(error);
      failures.push({ name: item.name, error: message });
      await store.deployments.updateItem(deploymentId, item.name, {
        status: 'failed',
        error: message.slice(0, 1000),
        updatedAt: timing.clock.now(),
      });
      emit({
        type: 'failed',
        deploymentId,
        name: item.name,
        reason: message,
        ...(error instanceof LabError ? { code: error.code } : {}),
      });
      timing.logger.error(run.logMessage, { deploymentId, name: item.name, error });
      await onFailed?.();
      return;
    }
  }
}

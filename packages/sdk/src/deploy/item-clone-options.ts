import type { Clock } from '../ports/clock.js';
import type { RetryBudget } from '../ports/retry-budget.js';
import type { Logger } from '../ports/logger.js';
import type { DeploymentItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * The `cloneVm` options a reset or publish item clones with: its clock, logger, timings and the
 * deployment's retry budget, and the
 * allocated VMID written to the item (status `cloning`) before the clone is sent, so a process that
 * takes the run over finds the VM.
 */
export function itemCloneOptions(
  deps: {
    store: Store;
    clock: Clock;
    logger: Logger;
    pollIntervalMs: number;
    cloneTimeoutMs: number;
    retryBudget?: RetryBudget;
  },
  deploymentId: string,
  item: DeploymentItemRecord,
): {
  clock: Clock;
  logger: Logger;
  pollIntervalMs: number;
  timeoutMs: number;
  retryBudget?: RetryBudget;
  onAllocated: (vmid: number) => Promise<void>;
} {
  return {
    clock: deps.clock,
    logger: deps.logger,
    pollIntervalMs: deps.pollIntervalMs,
    timeoutMs: deps.cloneTimeoutMs,
    ...(deps.retryBudget ? { retryBudget: deps.retryBudget } : {}),
    onAllocated: async (vmid) => {
      item.vmid = vmid;
      await deps.store.deployments.updateItem(deploymentId, item.name, {
        status: 'cloning',
        vmid,
        updatedAt: deps.clock.now(),
      });
    },
  };
}

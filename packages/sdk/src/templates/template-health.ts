import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { TemplateHealth } from '../store/records.js';
import type { Store } from '../store/store.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { checkTemplateVm } from './check-template-vm.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** One template whose check found a problem. */
export interface TemplateHealthProblem {
  clusterId: string;
  node: string;
  vmid: number;
  name: string;
  health: TemplateHealth;
  detail: string;
}

/** The outcome of one health round. */
export interface TemplateHealthReport {
  checked: number;
  healthy: number;
  problems: TemplateHealthProblem[];
}

/**
 * Re-verifies every registered template (exists, is a template, has its boot disk) with bounded
 * concurrency and records the result in the store; a deploy refuses templates that are not `ok`.
 */
export async function checkTemplateHealth(
  deps: { store: Store; clusters: ClusterApis; clock?: Clock; logger?: Logger },
  options: { concurrency?: number } = {},
): Promise<TemplateHealthReport> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const rows = await deps.store.templateInventory.list();
  const results = await mapWithConcurrency(
    rows,
    options.concurrency ?? SDK_DEFAULTS.templateScan.concurrency,
    async (row) => {
      const check = await checkTemplateVm(deps.clusters.get(row.clusterId), row.node, row.vmid);
      const health: TemplateHealth = check.ok
        ? 'ok'
        : check.problem === 'unreachable'
          ? 'unknown'
          : check.problem === 'no-boot-disk'
            ? 'no-boot-disk'
            : check.problem;
      await deps.store.templateInventory.setHealth(row.clusterId, row.node, row.vmid, health, clock.now());
      return { row, health, detail: check.ok ? 'ok' : check.detail };
    },
  );
  const problems = results
    .filter((r) => r.health !== 'ok')
    .map((r) => ({
      clusterId: r.row.clusterId,
      node: r.row.node,
      vmid: r.row.vmid,
      name: r.row.name,
      health: r.health,
      detail: r.detail,
    }));
  for (const p of problems) logger.warn('template is not healthy', { ...p });
  return { checked: rows.length, healthy: rows.length - problems.length, problems };
}

/** Runs `checkTemplateHealth` every `intervalMs` until the returned `stop()` is called. */
export function startTemplateHealthChecks(
  deps: { store: Store; clusters: ClusterApis; clock?: Clock; logger?: Logger },
  intervalMs: number,
  onReport?: (report: TemplateHealthReport) => void,
): { stop: () => Promise<void> } {
  const clock = deps.clock ?? systemClock;
  const controller = new AbortController();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      try {
        onReport?.(await checkTemplateHealth(deps));
      } catch (error) {
        (deps.logger ?? silentLogger).error('template health round failed', { error });
      }
      await clock.sleep(intervalMs, controller.signal).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      controller.abort();
      await loop;
    },
  };
}

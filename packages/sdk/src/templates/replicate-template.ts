import { migrateVm } from '../cloning/migrate-vm.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { normalisePveTags } from '../pve/pve-tags.js';
import { cloneVm, waitForCloneLock } from '../cloning/clone-vm.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import type { LabTemplate } from './lab-template.js';
import { InvalidTemplateError } from './template-errors.js';
import { listVmResources, tagsOf } from './template-inventory.js';
import { pveResources } from '../pve/pve-resources.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

/** What replication did on one node. */
export interface ReplicaResult {
  node: string;
  vmid: number;
  /** `created` now, `adopted` from an earlier interrupted run, or `already-there` (mapped before). */
  status: 'created' | 'adopted' | 'already-there';
}

/** Options of `replicateTemplate`. */
export interface ReplicateOptions {
  /** The cluster to replicate in. @defaultValue the cluster of the template's first mapping */
  clusterId?: string;
  /** Chooses the replica's VMID on a node (e.g. with `nodeTemplateVmid`); otherwise allocated. */
  vmidFor?: (node: string) => number | undefined;
  /** Per replica. @defaultValue 1 h */
  timeoutMs?: number;
  pollIntervalMs?: number;
  onProgress?: (event: {
    node: string;
    phase: 'cloning' | 'migrating' | 'converting' | 'registered';
    percent?: number;
  }) => void;
}

/** The PVE tag that marks a VM as a replica of lab template `templateId` (PVE tags: [a-z0-9_+.-]). */
export function replicaTag(templateId: number): string {
  return `lab-tpl-${templateId}`;
}

/**
 * Copies a template to the nodes that lack it — explicitly, never at start-up: a full clone (to the
 * node directly when the disks are on shared storage, else a local clone migrated offline), tagged
 * `replica` and `lab-tpl-<id>`, converted to a template, registered in the template inventory and
 * added as the node's mapping. Idempotent: nodes already mapped are skipped, and a replica left by an
 * interrupted run is found by its tag and finished instead of cloned again.
 */
export async function replicateTemplate(
  deps: { store: Store; clusters: ClusterApis; clock?: Clock; logger?: Logger },
  template: LabTemplate,
  toNodes: readonly string[],
  options: ReplicateOptions = {},
): Promise<ReplicaResult[]> {
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ template: template.name });
  const clusterId = options.clusterId ?? template.mappings[0]?.clusterId;
  if (!clusterId) throw new InvalidTemplateError(template.name, 'it has no node mapping to replicate from');
  const api = deps.clusters.get(clusterId);
  const source = template.mappings.find((m) => m.clusterId === clusterId);
  if (!source) throw new InvalidTemplateError(template.name, `it is on no node of cluster '${clusterId}'`);
  const tag = replicaTag(template.id);
  const results: ReplicaResult[] = [];

  for (const node of toNodes) {
    const mapped = template.mappings.find((m) => m.clusterId === clusterId && m.node === node);
    if (mapped) {
      results.push({ node, vmid: mapped.vmid, status: 'already-there' });
      continue;
    }
    const leftover = (await listVmResources(api)).find(
      (r) => r.type === 'qemu' && tagsOf(r).includes(tag) && (r.node === node || Number(r.template) !== 1),
    );
    let vmid: number;
    let status: ReplicaResult['status'] = 'created';
    if (leftover) {
      vmid = leftover.vmid;
      status = 'adopted';
      logger.info('finishing a replica left by an interrupted run', { node, vmid });
      if (leftover.node !== node) await migrate(api, leftover.node, vmid, node, options, clock);
      if (Number(leftover.template) !== 1) await convert(api, node, vmid, options, clock);
    } else {
      vmid = await createReplica(api, template, source, node, tag, options, clock, logger);
    }
    await deps.store.transaction(async (tx) => {
      await tx.templates.addMapping({ templateId: template.id, clusterId, node, vmid });
      await tx.templateInventory.upsert({
        clusterId,
        node,
        vmid,
        name: template.name,
        isReplica: true,
        sourceVmid: source.vmid,
        sourceNode: source.node,
        isClassTemplate: false,
        classId: null,
        lastVerifiedAt: clock.now(),
        health: 'ok',
        vanishedAt: null,
      });
    });
    options.onProgress?.({ node, phase: 'registered' });
    results.push({ node, vmid, status });
  }
  return results;
}

async function createReplica(
  api: PveApi,
  template: LabTemplate,
  source: { node: string; vmid: number },
  node: string,
  tag: string,
  options: ReplicateOptions,
  clock: Clock,
  logger: Logger,
): Promise<number> {
  const sourceConfig = await pveResources(api).qemu(source.node, source.vmid).config();
  const disk = findBootDisk(sourceConfig);
  const storages = await pveResources(api)
    .storage(source.node)
    .list(disk ? { storage: disk.storage } : {});
  const shared = disk !== undefined && storages.find((s) => s.storage === disk.storage)?.shared === 1;
  const preferred = options.vmidFor?.(node);
  options.onProgress?.({ node, phase: 'cloning' });
  const clone = await cloneVm(api, {
    source,
    name: typeof sourceConfig.name === 'string' ? sourceConfig.name : template.name,
    mode: 'full',
    ...(preferred !== undefined ? { newid: preferred } : {}),
    ...(shared ? { target: node } : {}),
    timeoutMs: options.timeoutMs ?? SDK_DEFAULTS.replication.timeoutMs,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    clock,
    logger,
    onProgress: (p) => p.percent !== undefined && options.onProgress?.({ node, phase: 'cloning', percent: p.percent }),
  });
  const tags = normalisePveTags([String(sourceConfig.tags ?? ''), 'replica', tag]);
  await pveResources(api).qemu(clone.node, clone.vmid).updateConfig({ tags });
  if (clone.node !== node) await migrate(api, clone.node, clone.vmid, node, options, clock);
  await convert(api, node, clone.vmid, options, clock);
  return clone.vmid;
}

/** How a migration or conversion of a replica is waited for: up to the replication timeout, polling as asked. */
function replicationWait(options: ReplicateOptions, clock: Clock) {
  return {
    clock,
    timeoutMs: options.timeoutMs ?? SDK_DEFAULTS.replication.timeoutMs,
    maxPollIntervalMs: options.pollIntervalMs ?? SDK_DEFAULTS.taskWait.maxPollIntervalMs,
    pollIntervalMs: Math.min(
      SDK_DEFAULTS.taskWait.pollIntervalMs,
      options.pollIntervalMs ?? SDK_DEFAULTS.taskWait.pollIntervalMs,
    ),
  };
}

async function migrate(
  api: PveApi,
  from: string,
  vmid: number,
  to: string,
  options: ReplicateOptions,
  clock: Clock,
): Promise<void> {
  options.onProgress?.({ node: to, phase: 'migrating' });
  await migrateVm(api, { node: from, vmid, target: to }, replicationWait(options, clock));
}

async function convert(
  api: PveApi,
  node: string,
  vmid: number,
  options: ReplicateOptions,
  clock: Clock,
): Promise<void> {
  options.onProgress?.({ node, phase: 'converting' });
  const upid = await pveResources(api).qemu(node, vmid).template();
  await waitForTask(api, upid, replicationWait(options, clock));
  await waitForCloneLock(
    api,
    node,
    vmid,
    clock.now() + 60_000,
    options.pollIntervalMs ?? SDK_DEFAULTS.replication.lockPollIntervalMs,
    clock,
    () =>
      Promise.resolve(
        new InvalidTemplateError(String(vmid), `replica ${vmid} on ${node} stayed locked after conversion`),
      ),
  );
}

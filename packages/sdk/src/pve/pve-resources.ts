import { withRetryBudget } from './budgeted-api.js';
import type { RetryBudget } from '../ports/retry-budget.js';
import type { PveApi } from '../ports/pve-api.js';
import { PveAccess } from './access-resource.js';
import { PveCluster } from './cluster-resource.js';
import { PveLxc } from './lxc-resource.js';
import { PveNodes } from './nodes-resource.js';
import { PveQemu } from './qemu-resource.js';
import { PveSdn } from './sdn-resource.js';
import { PveStorage } from './storage-resource.js';
import { PveTasks } from './tasks-resource.js';

/** The typed Proxmox resources of one cluster. */
export interface PveResources {
  /** The API the calls go through. */
  readonly api: PveApi;
  readonly clusterId: string;
  readonly cluster: PveCluster;
  readonly nodes: PveNodes;
  readonly access: PveAccess;
  /** Software-defined networking: zones, VNets, subnets, the pending configuration and its apply. */
  readonly sdn: PveSdn;
  /** QEMU guest `vmid` on `node`. */
  qemu(node: string, vmid: number): PveQemu;
  /** Container `vmid` on `node`. */
  lxc(node: string, vmid: number): PveLxc;
  /** The tasks of `node`. */
  tasks(node: string): PveTasks;
  /** The storages `node` sees. */
  storage(node: string): PveStorage;
}

/**
 * The typed resource layer over `api`: every PVE call the SDK makes, each with its path, its
 * parameter types (generated from the PVE API schema), its response schema and its idempotency.
 * Pass `retryBudget` to charge every retry of these calls to one budget (see `RetryBudget`).
 *
 * @example
 * ```ts
 * const pve = pveResources(client);
 * const config = await pve.qemu('pve1', 9000).config();
 * const upid = await pve.qemu('pve1', 9000).start();
 * ```
 */
export function pveResources(api: PveApi, options: { retryBudget?: RetryBudget } = {}): PveResources {
  const through = options.retryBudget ? withRetryBudget(api, options.retryBudget) : api;
  return {
    api: through,
    clusterId: through.clusterId,
    cluster: new PveCluster(through),
    nodes: new PveNodes(through),
    access: new PveAccess(through),
    sdn: new PveSdn(through),
    qemu: (node, vmid) => new PveQemu(through, node, vmid),
    lxc: (node, vmid) => new PveLxc(through, node, vmid),
    tasks: (node) => new PveTasks(through, node),
    storage: (node) => new PveStorage(through, node),
  };
}

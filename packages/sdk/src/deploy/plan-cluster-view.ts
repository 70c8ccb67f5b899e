import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { ClusterResourceEntry } from '../pve/pve-schemas.js';
import { completeFreshResources } from '../templates/template-inventory.js';
import type { NodeCapacity } from './placement.js';

/** The cluster as one `cluster.resources()` call showed it: nodes, guests and storages. */
export interface ClusterView {
  resources: ClusterResourceEntry[];
  nodes: ClusterResourceEntry[];
  guests: ClusterResourceEntry[];
  onlineNodes: Set<string>;
}

/** Reads the cluster's resources once; VMs made in the last ~10 s (no name or template flag yet) are completed from their config. */
export async function readClusterView(api: PveApi): Promise<ClusterView> {
  const resources = await completeFreshResources(api, await pveResources(api).cluster.resources());
  const nodes = resources.filter((r) => r.type === 'node' && r.node);
  return {
    resources,
    nodes,
    guests: resources.filter((r) => (r.type === 'qemu' || r.type === 'lxc') && r.vmid !== undefined),
    onlineNodes: new Set(nodes.filter((n) => n.status === 'online').map((n) => n.node!)),
  };
}

/** Each node's load, VM count and free space on `storageId`, for placement; `hasSource` says where the clone source is. */
export function nodeCapacities(
  view: ClusterView,
  hasSource: (node: string) => boolean,
  storageId?: string,
): NodeCapacity[] {
  const vmCount = (node: string) => view.guests.filter((g) => g.node === node && Number(g.template) !== 1).length;
  return view.nodes.map((n) => {
    const storage = storageId
      ? view.resources.find((r) => r.type === 'storage' && r.node === n.node && r.storage === storageId)
      : undefined;
    return {
      node: n.node!,
      online: n.status === 'online',
      cpu: n.cpu ?? 0,
      maxcpu: n.maxcpu ?? 1,
      mem: n.mem ?? 0,
      maxmem: n.maxmem ?? 0,
      vmCount: vmCount(n.node!),
      hasSource: hasSource(n.node!),
      ...(storage?.maxdisk !== undefined ? { storageFree: storage.maxdisk - (storage.disk ?? 0) } : {}),
    };
  });
}

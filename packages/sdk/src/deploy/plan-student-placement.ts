import type { ClassSpec } from './class-spec.js';
import { nodeCapacities, type ClusterView } from './plan-cluster-view.js';
import { explainPlacement, InsufficientCapacityError, placeVms, type NodeExplanation } from './placement.js';

/** Where the new students go, which nodes need a copy of the base first, and why there. */
export interface StudentPlacement {
  nodes: string[];
  replicateBaseTo: string[];
  placement: NodeExplanation[];
}

/**
 * Places `count` new students where the base is (every node that sees its storage when it is
 * shared); when that is not enough on local storage, also where the base could be copied.
 */
export function placeNewStudents(
  view: ClusterView,
  spec: ClassSpec,
  count: number,
  vmMemory: number,
  storage: { id: string; shared: boolean },
  baseNodes: readonly string[],
): StudentPlacement {
  const options = {
    vmMemory,
    vmDisk: 64 * 1024 * 1024,
    ...(spec.strategy ? { strategy: spec.strategy } : {}),
    ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}),
  };
  const storageNodes = new Set(
    view.resources.filter((r) => r.type === 'storage' && r.storage === storage.id).map((r) => r.node!),
  );
  const hasBase = (node: string) => (storage.shared ? storageNodes.has(node) : baseNodes.includes(node));
  let candidates = nodeCapacities(view, hasBase, storage.id);
  let nodes: string[];
  try {
    nodes = placeVms(count, candidates, options);
  } catch (error) {
    if (!(error instanceof InsufficientCapacityError) || storage.shared) throw error;
    candidates = nodeCapacities(view, (node) => storageNodes.has(node), storage.id);
    nodes = placeVms(count, candidates, options);
  }
  const replicateBaseTo = storage.shared ? [] : [...new Set(nodes)].filter((n) => !baseNodes.includes(n)).sort();
  return { nodes, replicateBaseTo, placement: explainPlacement(candidates, options) };
}

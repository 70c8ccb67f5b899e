import type { ClassSpec } from './class-spec.js';
import { nodeCapacities, type ClusterView } from './plan-cluster-view.js';
import { explainPlacement, InsufficientCapacityError, placeVms, type NodeExplanation } from './placement.js';

/**
 * How far above the even split a node's share of a class may be when every student VM of the class
 * runs at once (the "session load" goal of issue 29).
 */
export const SESSION_SHARE_LIMIT = 1.25;

/** Where the new students go, which nodes need a copy of the base first, and why there. */
export interface StudentPlacement {
  nodes: string[];
  replicateBaseTo: string[];
  placement: NodeExplanation[];
  /** Nodes the class may use: online, with the template's storage, room for one of its VMs, within the admin's pin. */
  classNodes: string[];
  /** What a teacher should know about the spread (base copies made for it, or why it falls short). */
  notes: string[];
}

/** The class's students already on the cluster (kept) and the nodes an admin pinned the class to. */
export interface ClassSpreadContext {
  /** The node of every student VM the plan keeps. */
  keptNodes: readonly string[];
  /** The admin's pin, already checked against the cluster; null when the class is not pinned. */
  pinnedNodes: readonly string[] | null;
}

/**
 * The nodes of the new students (`nodes`, one entry a student) that need a copy of the base first:
 * on local storage, those without it; the node with the most students first (then by name), the
 * order the run asks for the copies in, since its copy has the longest way still to go.
 */
export function nodesNeedingBase(
  nodes: readonly string[],
  storage: { shared: boolean },
  baseNodes: readonly string[],
): string[] {
  if (storage.shared) return [];
  const students = countBy(nodes);
  return [...students.keys()]
    .filter((n) => !baseNodes.includes(n))
    .sort((a, b) => students.get(b)! - students.get(a)! || a.localeCompare(b));
}

const countBy = (xs: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

/**
 * Places `count` new students so that, when every student VM of the class runs at once, no node
 * carries more than {@link SESSION_SHARE_LIMIT}× the even split of the class over the nodes it may
 * use. Students fill the nodes that already have the base (no copy needed) up to that limit; the
 * rest go to as few other nodes as the limit allows, evenly, and the base is copied there first
 * (local storage). On shared storage every node sees the base, so students are spread evenly.
 * Strategy `pack` keeps the old "fill the best node first" placement. When the limit cannot be met
 * (nodes full), the rest go wherever they fit and a note says so.
 */
export function placeNewStudents(
  view: ClusterView,
  spec: ClassSpec,
  count: number,
  vmMemory: number,
  storage: { id: string; shared: boolean },
  baseNodes: readonly string[],
  context: ClassSpreadContext = { keptNodes: [], pinnedNodes: null },
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
  const pinned = context.pinnedNodes;
  const allowed = (node: string) => storageNodes.has(node) && (!pinned || pinned.includes(node));
  const hasBase = (node: string) => allowed(node) && (storage.shared || baseNodes.includes(node));
  const candidates = nodeCapacities(view, allowed, storage.id);
  const explained = explainPlacement(candidates, options);
  const usable = explained.filter((n) => !n.excluded);
  const keptOn = countBy(context.keptNodes);
  const classNodes = [
    ...new Set([
      ...usable.map((n) => n.node),
      ...[...keptOn.keys()].filter((n) => allowed(n) && view.onlineNodes.has(n)),
    ]),
  ].sort();

  if (spec.strategy === 'pack') return packedPlacement();

  const fitting = usable.reduce((sum, n) => sum + n.fits, 0);
  if (fitting < count)
    throw new InsufficientCapacityError({
      requested: count,
      fit: fitting,
      perNode: explained.map((n) => ({ node: n.node, fits: n.fits, reasons: n.reasons })),
    });
  const total = context.keptNodes.length + count;
  const notes: string[] = [];
  if (count === 0 || classNodes.length === 0)
    return count === 0
      ? { nodes: [], replicateBaseTo: [], placement: explained, classNodes, notes }
      : packedPlacement();
  // The most students one node may carry: 1.25 × the even split, never below the even split itself.
  const even = total / classNodes.length;
  const cap = Math.max(Math.ceil(even), Math.floor(SESSION_SHARE_LIMIT * even + 1e-9));
  const room = new Map(usable.map((n) => [n.node, Math.min(n.fits, Math.max(0, cap - (keptOn.get(n.node) ?? 0)))]));
  const placed = new Map<string, number>();
  const load = (node: string) => (keptOn.get(node) ?? 0) + (placed.get(node) ?? 0);
  const give = (node: string) => {
    placed.set(node, (placed.get(node) ?? 0) + 1);
    room.set(node, room.get(node)! - 1);
  };
  /** One student at a time to the least loaded of `nodes` that has room (ties: the better score). */
  const evenOut = (nodes: readonly string[], n: number): number => {
    let given = 0;
    while (given < n) {
      const next = nodes.filter((x) => room.get(x)! > 0).sort((a, b) => load(a) - load(b))[0];
      if (next === undefined) break;
      give(next);
      given++;
    }
    return given;
  };
  const ranked = usable.map((n) => n.node); // best score first
  let left = count;
  if (storage.shared) {
    left -= evenOut(ranked, left);
  } else {
    // Nodes with the base first, each up to the limit: a student there costs no copy.
    for (const node of ranked.filter(hasBase)) {
      const n = Math.min(room.get(node)!, left);
      for (let i = 0; i < n; i++) give(node);
      left -= n;
    }
    // Then as few other nodes as the limit allows, evenly: each one costs a copy of the base.
    const others = ranked.filter((n) => !hasBase(n) && room.get(n)! > 0);
    const chosen: string[] = [];
    for (let sum = 0; sum < left && chosen.length < others.length;) {
      const node = others[chosen.length]!;
      chosen.push(node);
      sum += room.get(node)!;
    }
    left -= evenOut(chosen, left);
  }
  if (left > 0) {
    // The limit cannot be met: the rest go where they fit (the nodes' own capacity still holds).
    const rest = placeVms(
      left,
      candidates.map((c) => ({
        ...c,
        vmCount: c.vmCount + (placed.get(c.node) ?? 0),
        mem: c.mem + (placed.get(c.node) ?? 0) * vmMemory,
      })),
      { ...options, strategy: 'spread' },
    );
    for (const node of rest) placed.set(node, (placed.get(node) ?? 0) + 1);
    notes.push(
      `the nodes ${spec.classId} may use (${classNodes.join(', ')}) have too little room to keep every node within ${SESSION_SHARE_LIMIT}× an even share when all its VMs run`,
    );
  }
  const nodes = [...placed.entries()].flatMap(([node, n]) => Array<string>(n).fill(node));
  const replicateBaseTo = nodesNeedingBase(nodes, storage, baseNodes);
  const used = new Set([...placed.keys(), ...keptOn.keys()]);
  if (replicateBaseTo.length)
    notes.push(
      `base replicated to ${replicateBaseTo.join(', ')} so the class's ${total} VMs spread over ${used.size} nodes when they all run (at most ${Math.max(...[...used].map(load))} on a node${pinned ? `; pinned to ${pinned.join(', ')}` : ''})`,
    );
  return { nodes, replicateBaseTo, placement: explained, classNodes, notes };

  /** The placement before the session-load goal: nodes with the base first, others when they are full. */
  function packedPlacement(): StudentPlacement {
    let pool = nodeCapacities(view, hasBase, storage.id);
    let nodes: string[];
    try {
      nodes = placeVms(count, pool, options);
    } catch (error) {
      if (!(error instanceof InsufficientCapacityError) || storage.shared) throw error;
      pool = candidates;
      nodes = placeVms(count, pool, options);
    }
    const replicateBaseTo = nodesNeedingBase(nodes, storage, baseNodes);
    return {
      nodes,
      replicateBaseTo,
      placement: explainPlacement(pool, options),
      classNodes,
      notes: [],
    };
  }
}

import { LabError } from '../errors/lab-error.js';

/** A node as placement sees it, from live status. */
export interface NodeCapacity {
  node: string;
  online: boolean;
  /** CPU use 0–1. */
  cpu: number;
  maxcpu: number;
  /** Bytes. */
  mem: number;
  maxmem: number;
  /** Lab-relevant VMs already on the node (for `maxVmsPerNode`). */
  vmCount: number;
  /** Free bytes on the storage the clones go to, when known. */
  storageFree?: number;
  /** Whether the VMs' source (template) is usable on this node (mapped there, or on shared storage). */
  hasSource: boolean;
}

/** How to spread VMs: `score` ranks then round-robins (the seeds' way), `spread` evens out counts, `pack` fills the best node first. */
export type PlacementStrategy = 'score' | 'spread' | 'pack';

/** Placement settings. */
export interface PlacementOptions {
  strategy?: PlacementStrategy;
  /** @defaultValue `{ cpu: 0.6, memory: 0.4 }` */
  weights?: { cpu: number; memory: number };
  /** @defaultValue unlimited */
  maxVmsPerNode?: number;
  /** Memory each VM needs, in bytes. */
  vmMemory: number;
  /** Disk each VM takes on the target storage, in bytes (linked clones: a little). @defaultValue 0 */
  vmDisk?: number;
  /** Memory kept free on every node, in bytes. @defaultValue 0 */
  reserveMemory?: number;
}

/** Why placement would or would not use a node. */
export interface NodeExplanation {
  node: string;
  score: number;
  cpuFreePct: number;
  memFreePct: number;
  /** How many more VMs fit on the node under every constraint. */
  fits: number;
  excluded: boolean;
  reasons: string[];
}

/** A request that asks for more VMs than the nodes can take; says how many fit where. */
export class InsufficientCapacityError extends LabError {
  static override readonly code: string = 'LAB_INSUFFICIENT_CAPACITY';
  constructor(facts: {
    requested: number;
    fit: number;
    perNode: Array<{ node: string; fits: number; reasons: string[] }>;
  }) {
    const where = facts.perNode
      .map((n) => (n.fits > 0 ? `${n.node} ${n.fits}` : `${n.node} 0 (${n.reasons.join('; ') || 'full'})`))
      .join(', ');
    super(
      InsufficientCapacityError.code,
      `${facts.requested} VMs were asked for but only ${facts.fit} fit: ${where}`,
      facts,
    );
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Each node's score (0.6·CPU free % + 0.4·memory free % by default), how many VMs fit, and why a node is out. */
export function explainPlacement(nodes: readonly NodeCapacity[], options: PlacementOptions): NodeExplanation[] {
  const weights = options.weights ?? { cpu: 0.6, memory: 0.4 };
  const reserve = options.reserveMemory ?? 0;
  return nodes
    .map((n) => {
      const cpuFreePct = n.online ? (1 - Math.min(1, n.cpu)) * 100 : 0;
      const memFreePct = n.online && n.maxmem > 0 ? (1 - n.mem / n.maxmem) * 100 : 0;
      const reasons: string[] = [];
      if (!n.online) reasons.push('offline');
      if (!n.hasSource) reasons.push('template not on this node');
      const byMemory = Math.floor(Math.max(0, n.maxmem - n.mem - reserve) / Math.max(1, options.vmMemory));
      if (n.online && byMemory === 0)
        reasons.push(`not enough free memory (${Math.round((n.maxmem - n.mem) / 1024 ** 2)} MiB free)`);
      const byCount = options.maxVmsPerNode === undefined ? Infinity : Math.max(0, options.maxVmsPerNode - n.vmCount);
      if (byCount === 0) reasons.push(`maxVmsPerNode (${options.maxVmsPerNode}) reached`);
      const byDisk =
        n.storageFree === undefined || !options.vmDisk ? Infinity : Math.floor(n.storageFree / options.vmDisk);
      if (byDisk === 0) reasons.push('not enough free storage');
      const excluded = !n.online || !n.hasSource;
      const fits = excluded ? 0 : Math.min(byMemory, byCount, byDisk);
      return {
        node: n.node,
        score: round1(weights.cpu * cpuFreePct + weights.memory * memFreePct),
        cpuFreePct: round1(cpuFreePct),
        memFreePct: round1(memFreePct),
        fits,
        excluded: excluded || fits === 0,
        reasons,
      };
    })
    .sort((a, b) => b.score - a.score || a.node.localeCompare(b.node));
}

/**
 * Chooses a node for each of `count` VMs. Every node's capacity (memory, `maxVmsPerNode`, storage)
 * is honoured, counting the VMs placed so far; if they do not all fit, `InsufficientCapacityError`
 * says how many fit where.
 */
export function placeVms(count: number, nodes: readonly NodeCapacity[], options: PlacementOptions): string[] {
  const ranked = explainPlacement(nodes, options).filter((n) => !n.excluded);
  const room = new Map(ranked.map((n) => [n.node, n.fits]));
  const total = ranked.reduce((sum, n) => sum + n.fits, 0);
  if (total < count) {
    throw new InsufficientCapacityError({
      requested: count,
      fit: total,
      perNode: explainPlacement(nodes, options).map((n) => ({ node: n.node, fits: n.fits, reasons: n.reasons })),
    });
  }
  const placed = new Map(ranked.map((n) => [n.node, 0]));
  const existing = new Map(nodes.map((n) => [n.node, n.vmCount]));
  const take = (node: string): string => {
    room.set(node, room.get(node)! - 1);
    placed.set(node, placed.get(node)! + 1);
    return node;
  };
  const out: string[] = [];
  const strategy = options.strategy ?? 'score';
  let cursor = 0;
  while (out.length < count) {
    if (strategy === 'pack') {
      out.push(take(ranked.find((n) => room.get(n.node)! > 0)!.node));
    } else if (strategy === 'spread') {
      const next = ranked
        .filter((n) => room.get(n.node)! > 0)
        .sort(
          (a, b) =>
            existing.get(a.node)! + placed.get(a.node)! - (existing.get(b.node)! + placed.get(b.node)!) ||
            b.score - a.score,
        )[0]!;
      out.push(take(next.node));
    } else {
      const node = ranked[cursor % ranked.length]!;
      cursor++;
      if (room.get(node.node)! > 0) out.push(take(node.node));
    }
  }
  return out;
}

import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import type { Item } from './deployment-items.js';

/** A student moved off a node the base template could not be copied to. */
export interface ReplannedVm {
  name: string;
  /** The node it was planned on. */
  from: string;
  /** The node with a copy of the base it is cloned on instead. */
  to: string;
}

/**
 * Moves the students still to be created on a node without a copy of the base template (its replica
 * failed) to the nodes that have one (`copies`: node → VMID of the copy), each to the one with the
 * most memory left (`GET /cluster/resources?type=node`, less what the moved ones take), and records
 * their new node on their deployment item. Students already cloned stay where they are.
 * @returns the students moved, for the summary
 */
export async function replanOntoBaseCopies(
  deps: { store: Store },
  api: PveApi,
  deploymentId: string,
  students: Item[],
  copies: Readonly<Record<string, number>>,
  vmMemoryBytes: number,
): Promise<ReplannedVm[]> {
  const stranded = students.filter((s) => s.vmid === null && copies[s.node!] === undefined);
  const targets = Object.keys(copies);
  if (!stranded.length || !targets.length) return [];
  const free = new Map<string, number>(targets.map((n) => [n, 0]));
  for (const entry of await pveResources(api).cluster.resources({ type: 'node' }))
    if (entry.node && free.has(entry.node)) free.set(entry.node, (entry.maxmem ?? 0) - (entry.mem ?? 0));
  const moved: ReplannedVm[] = [];
  for (const student of stranded) {
    const [to] = [...free.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
    moved.push({ name: student.name, from: student.node!, to });
    free.set(to, free.get(to)! - vmMemoryBytes);
    student.node = to;
    await deps.store.deployments.updateItem(deploymentId, student.name, { node: to });
  }
  return moved;
}

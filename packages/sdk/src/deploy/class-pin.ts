import { LabError } from '../errors/lab-error.js';
import { parseClassSpec } from './class-spec.js';
import { findClassGuests } from './plan-class-guests.js';
import { readClusterView, type ClusterView } from './plan-cluster-view.js';
import { chooseSource } from './plan-source.js';
import { resolvePlanTarget } from './plan-target.js';
import type { PlanDeps } from './plan-class.js';

/** A pin that names a node the cluster does not have, or one that cannot hold the class's template. */
export class ClassPinError extends LabError {
  static override readonly code: string = 'LAB_CLASS_PIN_INVALID';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(ClassPinError.code, message, data);
  }
}

/** `pve1, pve2 ,pve1` → `['pve1', 'pve2']` (sorted, no duplicates, no blanks). */
export function normalizePinnedNodes(nodes: readonly string[]): string[] {
  return [...new Set(nodes.flatMap((n) => n.split(',')).map((n) => n.trim()))].filter(Boolean).sort();
}

/**
 * Checks an admin's pin against the cluster as `view` shows it: every node must exist and see
 * `storage` (the template's boot storage, when the class has a template); throws {@link ClassPinError} naming what to fix.
 */
export function checkPinnedNodes(
  view: ClusterView,
  classId: string,
  pinned: readonly string[],
  storage: { id: string } | null,
  templateName: string,
): void {
  const known = view.nodes.map((n) => n.node!).sort();
  const unknown = pinned.filter((n) => !known.includes(n));
  if (unknown.length)
    throw new ClassPinError(
      `${classId} is pinned to ${unknown.join(', ')}, which the cluster does not have (nodes: ${known.join(', ')}); pin it to existing nodes with class pin ${classId} <nodes> or remove the pin with class pin ${classId} --clear`,
      { classId, unknown, nodes: known },
    );
  if (!storage) return;
  const withStorage = new Set(
    view.resources.filter((r) => r.type === 'storage' && r.storage === storage.id).map((r) => r.node!),
  );
  const cannotHold = pinned.filter((n) => !withStorage.has(n));
  if (cannotHold.length)
    throw new ClassPinError(
      `${cannotHold.join(', ')} ${cannotHold.length > 1 ? 'have' : 'has'} no storage '${storage.id}', which template '${templateName}' of ${classId} is on; pin ${classId} to nodes that have it (${[...withStorage].sort().join(', ') || 'none'})`,
      { classId, cannotHold, storage: storage.id, template: templateName },
    );
}

/**
 * Checks a pin for class `classId` before it is saved: reads the cluster once and the class's
 * template source (as planning does), then {@link checkPinnedNodes}.
 * @returns the pin, normalised
 */
export async function checkClassPin(deps: PlanDeps, classId: string, nodes: readonly string[]): Promise<string[]> {
  const pinned = normalizePinnedNodes(nodes);
  if (pinned.length === 0)
    throw new ClassPinError(`name at least one node to pin ${classId} to (e.g. pve1,pve2)`, { classId });
  const spec = parseClassSpec({ classId, count: 0 });
  const klass = await deps.store.classes.getClass(classId);
  if (klass && klass.templateId === null) {
    // No template yet: the nodes must exist; their storage is checked when the class is planned.
    const view = await readClusterView(deps.clusters.get(deps.clusters.ids()[0]!));
    checkPinnedNodes(view, classId, pinned, null, '');
    return pinned;
  }
  const target = await resolvePlanTarget(deps, spec);
  const view = await readClusterView(target.api);
  const guests = await findClassGuests(deps.store, classId, target.clusterId, view.guests);
  const { storage } = await chooseSource(target, { ...spec, template: target.template.name }, view, guests);
  checkPinnedNodes(view, classId, pinned, storage, target.template.name);
  return pinned;
}

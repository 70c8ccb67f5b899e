import { findBootDisk, volumeStorages } from '../cloning/boot-disk.js';
import { pveResources } from '../pve/pve-resources.js';
import type { SourceFacts } from '../cloning/clone-vm.js';
import type { ClusterResourceEntry } from '../pve/pve-schemas.js';
import { tagsOf } from '../templates/template-inventory.js';
import { InvalidDeploymentError, type ClassSpec } from './class-spec.js';
import type { ClassGuests } from './plan-class-guests.js';
import { nodeCapacities, type ClusterView } from './plan-cluster-view.js';
import type { PlanTarget } from './plan-target.js';
import { explainPlacement } from './placement.js';

/** Where the teacher VM and the base template are cloned from, and what its config says. */
export interface PlanSource {
  source: { node: string; vmid: number };
  /** The source template's config and boot storage type, read once here and handed on to the preflight and the clones. */
  sourceFacts: SourceFacts;
  /** Storage of the template's boot disk, and whether every volume of it is on shared storage. */
  storage: { id: string; shared: boolean };
  /** The class's base template clones come from (not a replica, on a template node when one is). */
  existingBase: ClusterResourceEntry | undefined;
}

/**
 * Picks the template copy to clone from — the node of the class's base when it has one, else the
 * best scored online node that has the template (a pinned one first) — and reads its config (one request) for its boot
 * disk and whether every volume is on shared storage.
 */
export async function chooseSource(
  target: PlanTarget,
  spec: ClassSpec,
  view: ClusterView,
  classGuests: ClassGuests,
  pinnedNodes: readonly string[] | null = null,
): Promise<PlanSource> {
  const { template, mappedNodes, clusterId, api } = target;
  const onTemplateNode = (node: string | undefined) => mappedNodes.some((m) => m.node === node);
  const sourceChoices = explainPlacement(nodeCapacities(view, onTemplateNode), {
    vmMemory: template.record.memory * 1024 * 1024,
    ...(spec.maxVmsPerNode ? { maxVmsPerNode: spec.maxVmsPerNode } : {}),
  })
    .filter((n) => view.onlineNodes.has(n.node) && onTemplateNode(n.node))
    // A pinned class is made from a copy of the template on a pinned node when there is one.
    .sort((a, b) => Number(pinnedNodes?.includes(b.node) ?? 0) - Number(pinnedNodes?.includes(a.node) ?? 0));
  const { bases } = classGuests;
  const existingBase = bases.find((g) => !tagsOf(g).includes('replica') && onTemplateNode(g.node)) ?? bases[0];
  const sourceNode =
    existingBase?.node && onTemplateNode(existingBase.node) ? existingBase.node : sourceChoices[0]?.node;
  if (!sourceNode)
    throw new InvalidDeploymentError(
      `template '${template.name}' is only on offline nodes (${mappedNodes.map((m) => m.node).join(', ')})`,
      { template: template.name },
    );
  const source = { node: sourceNode, vmid: template.vmidOn(sourceNode, clusterId) };
  const sourceConfig = await pveResources(api).qemu(source.node, source.vmid).config();
  const disk = findBootDisk(sourceConfig);
  if (!disk)
    throw new InvalidDeploymentError(
      `template '${template.name}' (${source.vmid} on ${source.node}) has no boot disk; recreate it or run the template health check`,
      { template: template.name },
    );
  // Clones go to other nodes only when every volume (cloud-init and CD-ROM images too) is shared;
  // otherwise PVE refuses ("VM uses local storage") and the base is copied to each node instead.
  const sharedStorage = (id: string) =>
    view.resources.some((r) => r.type === 'storage' && r.storage === id && r.shared === 1);
  const shared = [disk.storage, ...volumeStorages(sourceConfig)].every(sharedStorage);
  const bootStorageType = view.resources.find(
    (r) => r.type === 'storage' && r.node === source.node && r.storage === disk.storage,
  )?.plugintype;
  return {
    source,
    sourceFacts: { config: sourceConfig, bootStorageType },
    storage: { id: disk.storage, shared },
    existingBase,
  };
}

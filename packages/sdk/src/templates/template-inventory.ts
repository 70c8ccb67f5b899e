import { systemClock, type Clock } from '../ports/clock.js';
import { splitPveTags } from '../pve/pve-tags.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { PveApi } from '../ports/pve-api.js';
import type { TemplateInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { pveResources } from '../pve/pve-resources.js';
import { clusterResourcesSchema, type VmResource } from '../pve/pve-schemas.js';

/** The cluster's resource entries (the one schema of the resource layer). */
export const vmResourceSchema = clusterResourcesSchema;

export type { VmResource };

/** The guests of a cluster, in one request (`cluster.vms()` of the resource layer). */
export function listVmResources(api: PveApi): Promise<VmResource[]> {
  return pveResources(api).cluster.vms();
}

/**
 * Whether a resource entry is one pvestatd has not reported yet: a guest created in the last
 * status round (~10 s) has only id, vmid, node, type, `status: unknown`, lock, tags and pool —
 * no name, no template flag, no usage (pve-manager `PVE/API2Tools.pm` extract_vm_stats).
 */
export function isFreshResource(r: { type: string; name?: string | undefined; template?: unknown }): boolean {
  return (r.type === 'qemu' || r.type === 'lxc') && r.name === undefined && r.template === undefined;
}

/**
 * Fills in name and template flag of fresh guest entries from their config (one read each, few
 * at a time), so that code which needs them never mistakes a VM just created for a nameless one.
 * Entries whose config cannot be read (gone, moved) are left as they are.
 */
export async function completeFreshResources<
  T extends {
    type: string;
    node?: string | undefined;
    vmid?: number | undefined;
    name?: string | undefined;
    template?: unknown;
  },
>(api: PveApi, resources: T[]): Promise<T[]> {
  const fresh = resources.filter((r) => isFreshResource(r) && r.node !== undefined && r.vmid !== undefined);
  await mapWithConcurrency(fresh, 4, async (r) => {
    const guest = r.type === 'lxc' ? pveResources(api).lxc(r.node!, r.vmid!) : pveResources(api).qemu(r.node!, r.vmid!);
    const config = await guest.config().catch(() => undefined);
    if (!config) return;
    const name = config.name ?? config.hostname;
    if (typeof name === 'string') r.name = name;
    r.template = Number(config.template ?? 0);
  });
  return resources;
}

/** PVE tags of a resource (`;`, `,` or space separated), lower-cased as PVE compares them. */
export function tagsOf(resource: { tags?: string | undefined }): string[] {
  return splitPveTags(resource.tags).map((tag) => tag.toLowerCase());
}

/** What one cluster's scan found. */
export interface TemplateScanReport {
  clusterId: string;
  found: number;
  added: number;
  vanished: number;
  /**
   * Set when the cluster answered with no guests at all while the inventory knows templates there:
   * nothing was marked vanished on the strength of one answer that is more likely a fault.
   */
  unconfirmedEmpty?: true;
}

/**
 * Registers every template VM of every cluster in the template inventory: originals, replicas
 * (kept as such once known, or tagged `replica`, with their source) and class templates (tagged
 * `class-<id>` and `role-base`). Templates that are gone are marked vanished, not dropped — but
 * not on an answer with no guests at all while templates are known (`unconfirmedEmpty`).
 */
export async function scanTemplateInventory(
  deps: { store: Store; clusters: ClusterApis; clock?: Clock },
  options: { clusterIds?: string[] } = {},
): Promise<TemplateScanReport[]> {
  const clock = deps.clock ?? systemClock;
  const reports: TemplateScanReport[] = [];
  for (const clusterId of options.clusterIds ?? deps.clusters.ids()) {
    const resources = await listVmResources(deps.clusters.get(clusterId));
    const templates = resources.filter((r) => r.type === 'qemu' && Number(r.template) === 1);
    const known = new Map(
      (await deps.store.templateInventory.list({ clusterId, includeVanished: true })).map((r) => [
        `${r.node}/${r.vmid}`,
        r,
      ]),
    );
    const originals = templates
      .filter((t) => !tagsOf(t).includes('replica') && !known.get(`${t.node}/${t.vmid}`)?.isReplica)
      .sort((a, b) => a.vmid - b.vmid);
    let added = 0;
    await deps.store.transaction(async (tx) => {
      for (const t of templates) {
        const existing = known.get(`${t.node}/${t.vmid}`);
        const tags = tagsOf(t);
        const classId = tags.find((tag) => tag.startsWith('class-'))?.slice('class-'.length) ?? null;
        const isReplica = existing?.isReplica ?? tags.includes('replica');
        const source =
          isReplica && !existing?.sourceVmid
            ? originals.find((o) => o.name === t.name && o.vmid !== t.vmid)
            : undefined;
        const record: TemplateInventoryRecord = {
          clusterId,
          node: t.node,
          vmid: t.vmid,
          name: t.name ?? `VM ${t.vmid}`,
          isReplica,
          sourceVmid: existing?.sourceVmid ?? source?.vmid ?? null,
          sourceNode: existing?.sourceNode ?? source?.node ?? null,
          isClassTemplate: classId !== null && tags.includes('role-base'),
          classId: classId !== null && tags.includes('role-base') ? classId : null,
          lastVerifiedAt: existing?.lastVerifiedAt ?? clock.now(),
          health: existing && existing.vanishedAt === null ? existing.health : 'unknown',
          vanishedAt: null,
        };
        if (!existing) added++;
        await tx.templateInventory.upsert(record);
      }
      const knownLive = [...known.values()].filter((r) => r.vanishedAt === null).length;
      if (knownLive > 0 && !resources.some((r) => r.type === 'qemu' || r.type === 'lxc')) {
        reports.push({ clusterId, found: 0, added, vanished: 0, unconfirmedEmpty: true });
        return;
      }
      // A guest pvestatd has not reported yet carries no template flag: it has not vanished.
      const present = [...templates, ...resources.filter((r) => isFreshResource(r))];
      const vanished = await tx.templateInventory.markVanished(
        clusterId,
        present.map((t) => ({ node: t.node, vmid: t.vmid })),
        clock.now(),
      );
      reports.push({ clusterId, found: templates.length, added, vanished });
    });
  }
  return reports;
}

/** Counts of the template inventory. */
export interface TemplateStatistics {
  total: number;
  originals: number;
  replicas: number;
  classTemplates: number;
  /** Templates per `cluster/node`. */
  perNode: Record<string, number>;
}

/** Totals, originals, replicas, class templates and templates per node. */
export async function templateStatistics(store: Store, clusterId?: string): Promise<TemplateStatistics> {
  const rows = await store.templateInventory.list(clusterId === undefined ? {} : { clusterId });
  const perNode: Record<string, number> = {};
  for (const r of rows) perNode[`${r.clusterId}/${r.node}`] = (perNode[`${r.clusterId}/${r.node}`] ?? 0) + 1;
  return {
    total: rows.length,
    originals: rows.filter((r) => !r.isReplica && !r.isClassTemplate).length,
    replicas: rows.filter((r) => r.isReplica).length,
    classTemplates: rows.filter((r) => r.isClassTemplate).length,
    perNode,
  };
}

/** Where the templates called `name` are, across nodes and clusters. */
export async function templateDistribution(
  store: Store,
  name: string,
): Promise<Array<{ clusterId: string; node: string; vmid: number; isReplica: boolean }>> {
  return (await store.templateInventory.list({ name })).map((r) => ({
    clusterId: r.clusterId,
    node: r.node,
    vmid: r.vmid,
    isReplica: r.isReplica,
  }));
}

import type { ClusterApis } from '../ports/cluster-apis.js';
import type { PveApi } from '../ports/pve-api.js';
import type { ClassRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { LabTemplate } from '../templates/lab-template.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { TemplateNotFoundError } from '../templates/template-errors.js';
import { InvalidDeploymentError, type ClassSpec } from './class-spec.js';

/** What a class plan is about: the class, its template (active, on the cluster) and the cluster. */
export interface PlanTarget {
  klass: ClassRecord;
  template: LabTemplate;
  clusterId: string;
  api: PveApi;
  /** The template's copies on the cluster's nodes. */
  mappedNodes: LabTemplate['mappings'];
}

/**
 * Looks up the class, its template (the spec's, else the class's) and the cluster in the store and
 * the configuration, without a PVE request; anything missing or inactive fails with what to fix.
 */
export async function resolvePlanTarget(
  deps: { store: Store; clusters: ClusterApis; catalog: TemplateCatalog },
  spec: ClassSpec,
): Promise<PlanTarget> {
  const klass = await deps.store.classes.getClass(spec.classId);
  if (!klass) {
    const known = (await deps.store.classes.listClasses()).map((c) => c.id);
    throw new InvalidDeploymentError(
      `no class '${spec.classId}'; create it first${known.length ? ` (classes: ${known.join(', ')})` : ''}`,
      { classId: spec.classId },
    );
  }
  const template = await templateOf(deps, spec, klass);
  if (!template.record.isActive)
    throw new InvalidDeploymentError(`template '${template.name}' is not active; activate it or pick another`, {
      template: template.name,
    });
  const clusterId = spec.clusterId ?? template.mappings[0]!.clusterId;
  if (!deps.clusters.ids().includes(clusterId))
    throw new InvalidDeploymentError(
      `no cluster '${clusterId}' is configured (clusters: ${deps.clusters.ids().join(', ')})`,
      { clusterId },
    );
  const mappedNodes = template.mappings.filter((m) => m.clusterId === clusterId);
  if (mappedNodes.length === 0)
    throw new InvalidDeploymentError(`template '${template.name}' is on no node of cluster '${clusterId}'`, {
      template: template.name,
      clusterId,
    });
  return { klass, template, clusterId, api: deps.clusters.get(clusterId), mappedNodes };
}

/** The template named in the spec, or the class's own when the spec names none. */
async function templateOf(
  deps: { store: Store; catalog: TemplateCatalog },
  spec: ClassSpec,
  klass: ClassRecord,
): Promise<LabTemplate> {
  let name = spec.template;
  if (name === undefined) {
    const record = klass.templateId ? await deps.store.templates.get(klass.templateId) : undefined;
    if (!record) {
      const names = (await deps.catalog.list({ activeOnly: true })).map((t) => t.name);
      throw new InvalidDeploymentError(
        `class '${klass.id}' has no template; name one${names.length ? ` (templates: ${names.join(', ')})` : ''}`,
        { field: 'template', classId: klass.id, templates: names },
      );
    }
    name = record.name;
  }
  try {
    return await deps.catalog.get(name);
  } catch (error) {
    if (error instanceof TemplateNotFoundError) throw new InvalidDeploymentError(error.message, { template: name });
    throw error;
  }
}

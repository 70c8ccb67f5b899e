import type { TemplateNodeMapping, TemplateRecord } from '../store/records.js';
import { TemplateNotOnNodeError } from './template-errors.js';

/** A lab template with the nodes it is on. Where a node has it, `vmidOn` gives its VMID. */
export class LabTemplate {
  constructor(
    readonly record: TemplateRecord,
    readonly mappings: readonly TemplateNodeMapping[],
  ) {}

  get id(): number {
    return this.record.id;
  }

  get name(): string {
    return this.record.name;
  }

  /** The VMID of this template on `node`, or `TemplateNotOnNodeError` listing the nodes that have it. */
  vmidOn(node: string, clusterId?: string): number {
    const cluster = clusterId ?? this.mappings[0]?.clusterId ?? '';
    const mapping = this.mappings.find((m) => m.node === node && m.clusterId === cluster);
    if (!mapping) {
      throw new TemplateNotOnNodeError({
        template: this.name,
        clusterId: cluster,
        node,
        nodes: this.mappings
          .filter((m) => m.clusterId === cluster)
          .map((m) => ({ clusterId: m.clusterId, node: m.node, vmid: m.vmid })),
      });
    }
    return mapping.vmid;
  }

  /** The nodes this template is on (of one cluster, or of all). */
  nodes(clusterId?: string): string[] {
    return this.mappings.filter((m) => clusterId === undefined || m.clusterId === clusterId).map((m) => m.node);
  }
}

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportTerraform, TerraformExportError, type TerraformExportResult } from '@lab/proxmox-sdk';
import type { LabConfig } from './lab-config.js';
import { LabExit } from './lab-exit.js';
import { operatorName } from './operator.js';

/** Options of `lab class export-terraform`. */
export interface ExportTerraformOptions {
  out?: string;
  from?: 'plan' | 'deployed';
  count?: string;
  cluster?: string;
  vmidRange?: string;
}

/** The module shipped with the package (`terraform/modules/proxmox-class`), wherever `lab` runs from. */
export function shippedModuleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../..', '../../..', '../../../..']) {
    const candidate = resolve(here, up, 'terraform/modules/proxmox-class');
    try {
      readFileSync(join(candidate, 'main.tf'));
      return candidate;
    } catch {
      // not at this level
    }
  }
  throw new TerraformExportError(
    'The proxmox-class Terraform module is missing from this installation; reinstall @lab/cli.',
  );
}

/**
 * `lab class export-terraform <class> [--as user]`: a Terraform workspace for the class, from the placement
 * Proxmox Lab would choose (`--from plan`, the default for a class with no VMs) or adopting what is
 * deployed (`--from deployed`, with `import` blocks). Endpoint and TLS come from the configuration.
 */
export async function runExportTerraform(
  config: LabConfig,
  classId: string,
  options: ExportTerraformOptions,
  as?: string,
): Promise<TerraformExportResult> {
  const { openLabRuntime } = await import('./lab-runtime.js');
  const runtime = await openLabRuntime(config);
  try {
    const { store, services, router } = runtime;
    // Whoever runs it, the router decides as it would for a teacher command: the operator (no --as)
    // is an admin; a lab user must teach the class.
    const refused = await router.authorizeClassChore(
      as ? { platform: 'cli', userId: as } : { platform: 'cli', userId: operatorName(), operator: true },
      { name: 'class.export-terraform', classId, action: 'export as Terraform' },
    );
    if (refused) throw new LabExit(refused.text);
    const deployed = (await store.classes.assignmentsOfClass(classId)).length > 0;
    const from = options.from ?? (deployed ? 'deployed' : 'plan');
    let plan;
    let clusterId = options.cluster;
    if (from === 'plan') {
      const klass = await store.classes.getClass(classId);
      const template = klass?.templateId ? await store.templates.get(klass.templateId) : undefined;
      if (!klass || !template)
        throw new TerraformExportError(
          `Class ${classId} needs a template to plan from; set one with \`lab class set-template ${classId} <template>\`.`,
          { classId },
        );
      const count =
        options.count !== undefined
          ? Number(options.count)
          : (await store.classes.members(classId)).filter((m) => m.role === 'student').length;
      plan = await services.engine.plan({
        classId,
        count,
        template: template.name,
        ...(clusterId ? { clusterId } : {}),
        requestedBy: 'terraform-export',
      });
      clusterId = plan.clusterId;
    }
    const clusterIdForEndpoint =
      clusterId ?? (await store.classes.assignmentsOfClass(classId))[0]?.clusterId ?? config.clusters[0]!.id;
    const cluster = config.clusters.find((c) => c.id === clusterIdForEndpoint);
    if (!cluster)
      throw new TerraformExportError(
        `Cluster '${clusterIdForEndpoint}' of class ${classId} is not in the configuration; add it to clusters[] first.`,
        { clusterId: clusterIdForEndpoint },
      );
    const caPem = cluster.ca ?? (cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined);
    const range = options.vmidRange ? /^(\d+)-(\d+)$/.exec(options.vmidRange) : undefined;
    if (options.vmidRange && !range)
      throw new TerraformExportError(`--vmid-range takes FIRST-LAST, e.g. 5000-5099; got '${options.vmidRange}'.`);
    return await exportTerraform(
      { store },
      {
        classId,
        dir: options.out ?? join('terraform', 'classes', classId),
        from,
        ...(plan ? { plan } : {}),
        endpoint: { url: cluster.url, insecure: cluster.insecure ?? false, ...(caPem ? { caPem } : {}) },
        moduleDir: shippedModuleDir(),
        clusterId: clusterIdForEndpoint,
        ...(range ? { vmidRange: { first: Number(range[1]), last: Number(range[2]) } } : {}),
      },
    );
  } finally {
    await runtime.close();
  }
}

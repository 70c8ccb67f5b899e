import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TerraformExportError } from '@lab/proxmox-sdk/errors';
import { writeTerraformWorkspace, type TerraformWorkspace } from '@lab/proxmox-sdk/terraform';
import type { DeliverReply } from './run-through-router.js';

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
 * `lab class export-terraform <class>`: writes the workspace the router's `class export-terraform`
 * answered with (so only a teacher of the class or an admin gets one) into `--out` (default
 * `terraform/classes/<class>`), with the endpoint and TLS trust of the configuration.
 */
export const writeExportedWorkspace: DeliverReply = (reply, { config, json, command }) => {
  const workspace = reply.data as TerraformWorkspace;
  const cluster = config.clusters.find((c) => c.id === workspace.clusterId);
  if (!cluster)
    throw new TerraformExportError(
      `Cluster '${workspace.clusterId}' of class ${workspace.classId} is not in the configuration; add it to clusters[] first.`,
      { clusterId: workspace.clusterId },
    );
  const caPem = cluster.ca ?? (cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined);
  const result = writeTerraformWorkspace(workspace, {
    dir: command.opts<{ out?: string }>().out ?? join('terraform', 'classes', workspace.classId),
    endpoint: { url: cluster.url, insecure: cluster.insecure ?? false, ...(caPem ? { caPem } : {}) },
    moduleDir: shippedModuleDir(),
  });
  return json
    ? JSON.stringify(result)
    : `wrote ${result.dir}: ${result.vms} VMs${result.imports ? `, ${result.imports} import blocks` : ''} (${result.files.join(', ')}); then: cd ${result.dir} && export PROXMOX_VE_API_TOKEN=… && terraform init && terraform plan`;
};

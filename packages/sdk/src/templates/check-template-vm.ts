import { findBootDisk } from '../cloning/boot-disk.js';
import { LabError } from '../errors/lab-error.js';
import { PveHttpError } from '../errors/pve-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import type { MappingProblem } from './template-errors.js';
import { pveResources } from '../pve/pve-resources.js';

/** What a VMID on a node turned out to be, for template checks. */
export type TemplateVmCheck =
  { ok: true } | { ok: false; problem: Exclude<MappingProblem, 'unknown-node'>; detail: string };

/** Checks that `vmid` on `node` exists, is a template and has a boot disk. */
export async function checkTemplateVm(api: PveApi, node: string, vmid: number): Promise<TemplateVmCheck> {
  let config: Record<string, unknown>;
  try {
    config = await pveResources(api).qemu(node, vmid).config();
  } catch (error) {
    if (error instanceof PveHttpError && /does not exist/.test(error.pveMessage))
      return { ok: false, problem: 'missing', detail: 'does not exist' };
    if (error instanceof LabError) return { ok: false, problem: 'unreachable', detail: error.message };
    throw error;
  }
  if (config.template !== 1 && config.template !== '1')
    return { ok: false, problem: 'not-template', detail: 'is a VM, not a template' };
  if (!findBootDisk(config)) return { ok: false, problem: 'no-boot-disk', detail: 'has no boot disk' };
  return { ok: true };
}

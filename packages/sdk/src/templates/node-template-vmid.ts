import { LabError } from '../errors/lab-error.js';

/**
 * The optional per-node VMID scheme for template replicas: `9000 + 100·nodeIndex + baseId`
 * (nodeIndex 1–9, baseId 0–99), so template 5 on node 3 is 9305.
 */
export function nodeTemplateVmid(nodeIndex: number, baseId: number): number {
  if (!Number.isInteger(nodeIndex) || nodeIndex < 1 || nodeIndex > 9) {
    throw new LabError('LAB_TEMPLATE_VMID_RANGE', `nodeIndex must be a whole number from 1 to 9, got ${nodeIndex}`, {
      nodeIndex,
      baseId,
    });
  }
  if (!Number.isInteger(baseId) || baseId < 0 || baseId > 99) {
    throw new LabError('LAB_TEMPLATE_VMID_RANGE', `baseId must be a whole number from 0 to 99, got ${baseId}`, {
      nodeIndex,
      baseId,
    });
  }
  return 9000 + 100 * nodeIndex + baseId;
}

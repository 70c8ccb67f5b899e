import { LabError } from '../errors/lab-error.js';

/** The caller may not act on or see this VM. */
export class NotAllowedError extends LabError {
  static override readonly brand: string = '@lab/NotAllowedError';
  constructor(facts: { actor: string; action: string; target: string; reason: string }) {
    super('LAB_NOT_ALLOWED', `${facts.actor} may not ${facts.action} ${facts.target}: ${facts.reason}`, facts);
  }
}

/** No VM with that id is known to the inventory. */
export class UnknownVmError extends LabError {
  static override readonly brand: string = '@lab/UnknownVmError';
  constructor(clusterId: string, vmid: number) {
    super('LAB_UNKNOWN_VM', `no VM ${vmid} on cluster '${clusterId}' is in the inventory; run a sync or check the id`, { clusterId, vmid });
  }
}

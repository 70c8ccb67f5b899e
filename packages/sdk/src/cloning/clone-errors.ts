import { LabError } from '../errors/lab-error.js';

/** A template (or clone source) has no disk a VM could boot from; nothing was cloned. */
export class TemplateMissingDiskError extends LabError {
  static override readonly brand: string = '@lab/TemplateMissingDiskError';
  constructor(facts: { clusterId: string; node: string; vmid: number; drives: string[] }) {
    super(
      'LAB_TEMPLATE_MISSING_DISK',
      `template ${facts.vmid} on ${facts.node} has no boot disk${facts.drives.length ? ` (only ${facts.drives.join(', ')})` : ''}; recreate it`,
      facts,
    );
  }
}

/** A clone finished but the new VM has no boot disk. */
export class CloneMissingDiskError extends LabError {
  static override readonly brand: string = '@lab/CloneMissingDiskError';
  constructor(facts: { clusterId: string; node: string; vmid: number; sourceVmid: number; config: Record<string, unknown> }) {
    super(
      'LAB_CLONE_MISSING_DISK',
      `clone ${facts.vmid} of ${facts.sourceVmid} on ${facts.node} finished without a boot disk; it was left in place for inspection — destroy it and check the template's storage`,
      facts,
    );
  }
}

/** A clone did not finish (task or `lock: clone`) in time. Carries what is needed to diagnose it. */
export class CloneTimeoutError extends LabError {
  static override readonly brand: string = '@lab/CloneTimeoutError';
  constructor(facts: {
    clusterId: string;
    node: string;
    vmid: number;
    sourceVmid: number;
    timeoutMs: number;
    waitingFor: 'task' | 'lock';
    lastConfig: Record<string, unknown> | undefined;
    taskLogTail: string[];
    templateStillHasDisk: boolean | undefined;
  }) {
    super(
      'LAB_CLONE_TIMEOUT',
      `clone ${facts.vmid} of ${facts.sourceVmid} on ${facts.node} was not done after ${facts.timeoutMs} ms (still waiting for ${facts.waitingFor === 'lock' ? "its 'lock: clone' to clear" : 'the clone task'}); the template ${facts.templateStillHasDisk === false ? 'has LOST its boot disk' : facts.templateStillHasDisk ? 'still has its boot disk' : 'could not be checked'}`,
      facts,
    );
  }
}

/** A linked clone was demanded but the source or its storage cannot do one. */
export class LinkedCloneUnsupportedError extends LabError {
  static override readonly brand: string = '@lab/LinkedCloneUnsupportedError';
  constructor(facts: { clusterId: string; node: string; vmid: number; reason: string }) {
    super('LAB_LINKED_CLONE_UNSUPPORTED', `a linked clone of ${facts.vmid} on ${facts.node} is not possible: ${facts.reason}; use mode 'auto' or 'full'`, facts);
  }
}

/** No free VMID could be allocated after several tries. */
export class VmidAllocationError extends LabError {
  static override readonly brand: string = '@lab/VmidAllocationError';
  constructor(facts: { clusterId: string; attempts: number; lastError: string }) {
    super('LAB_VMID_ALLOCATION', `could not allocate a free VMID on cluster '${facts.clusterId}' after ${facts.attempts} attempts: ${facts.lastError}`, facts);
  }
}

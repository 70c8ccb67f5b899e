import { LabError } from '../errors/lab-error.js';

/** A template (or clone source) has no disk a VM could boot from; nothing was cloned. */
export class TemplateMissingDiskError extends LabError {
  static override readonly code: string = 'LAB_TEMPLATE_MISSING_DISK';
  constructor(facts: { clusterId: string; node: string; vmid: number; drives: string[] }) {
    super(
      TemplateMissingDiskError.code,
      `template ${facts.vmid} on ${facts.node} has no boot disk${facts.drives.length ? ` (only ${facts.drives.join(', ')})` : ''}; recreate it`,
      facts,
    );
  }
}

/** A clone finished but the new VM has no boot disk. */
export class CloneMissingDiskError extends LabError {
  static override readonly code: string = 'LAB_CLONE_MISSING_DISK';
  constructor(facts: {
    clusterId: string;
    node: string;
    vmid: number;
    sourceVmid: number;
    config: Record<string, unknown>;
  }) {
    super(
      CloneMissingDiskError.code,
      `clone ${facts.vmid} of ${facts.sourceVmid} on ${facts.node} finished without a boot disk; it was left in place for inspection — destroy it and check the template's storage`,
      facts,
    );
  }
}

/** A clone did not finish (task or `lock: clone`) in time. Carries what is needed to diagnose it. */
export class CloneTimeoutError extends LabError {
  static override readonly code: string = 'LAB_CLONE_TIMEOUT';
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
      CloneTimeoutError.code,
      `clone ${facts.vmid} of ${facts.sourceVmid} on ${facts.node} was not done after ${facts.timeoutMs} ms (still waiting for ${facts.waitingFor === 'lock' ? "its 'lock: clone' to clear" : 'the clone task'}); the template ${facts.templateStillHasDisk === false ? 'has LOST its boot disk' : facts.templateStillHasDisk ? 'still has its boot disk' : 'could not be checked'}`,
      facts,
    );
  }
}

/** A linked clone was demanded but the source or its storage cannot do one. */
export class LinkedCloneUnsupportedError extends LabError {
  static override readonly code: string = 'LAB_LINKED_CLONE_UNSUPPORTED';
  constructor(facts: { clusterId: string; node: string; vmid: number; reason: string }) {
    super(
      LinkedCloneUnsupportedError.code,
      `a linked clone of ${facts.vmid} on ${facts.node} is not possible: ${facts.reason}; use mode 'auto' or 'full'`,
      facts,
    );
  }
}

/**
 * A clone to another node was asked for with disks PVE could not put there: its target storage,
 * or the source's disks, are not shared (qemu-server `clone_vm`: "can't clone to non-shared
 * storage", "VM uses local storage"). Nothing was sent.
 */
export class CloneTargetStorageError extends LabError {
  static override readonly code: string = 'LAB_CLONE_TARGET_STORAGE';
  constructor(facts: { clusterId: string; node: string; vmid: number; target: string; storage: string }) {
    super(
      CloneTargetStorageError.code,
      `VM ${facts.vmid} on ${facts.node} cannot be cloned to ${facts.target}: storage '${facts.storage}' is not shared; clone it on ${facts.node} and migrate the copy, or use shared storage`,
      facts,
    );
  }
}

/** No free VMID could be allocated after several tries. */
export class VmidAllocationError extends LabError {
  static override readonly code: string = 'LAB_VMID_ALLOCATION';
  constructor(facts: { clusterId: string; attempts: number; lastError: string }) {
    super(
      VmidAllocationError.code,
      `could not allocate a free VMID on cluster '${facts.clusterId}' after ${facts.attempts} attempts: ${facts.lastError}`,
      facts,
    );
  }
}

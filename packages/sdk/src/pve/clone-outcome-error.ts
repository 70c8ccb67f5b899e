import { LabError } from '../errors/lab-error.js';

/**
 * A clone request was sent but its answer was lost, and VMID `vmid` now exists: PVE took the
 * request. The caller adopts the VM (waits for its `lock: clone` to clear) instead of cloning again.
 */
export class CloneOutcomeUnknownError extends LabError {
  static override readonly brand: string = '@lab/CloneOutcomeUnknownError';
  readonly vmid: number;
  constructor(facts: { clusterId: string; node: string; sourceVmid: number; vmid: number; reason: string }, options?: { cause?: unknown }) {
    super(
      'LAB_CLONE_OUTCOME_UNKNOWN',
      `the answer to cloning ${facts.sourceVmid} on ${facts.node} as ${facts.vmid} was lost (${facts.reason}) but VM ${facts.vmid} exists; wait for it to finish cloning and adopt it rather than cloning again`,
      facts,
      options,
    );
    this.vmid = facts.vmid;
  }
}

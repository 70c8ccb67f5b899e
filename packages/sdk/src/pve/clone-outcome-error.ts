import { LabError } from '../errors/lab-error.js';

/**
 * A clone request to VMID `vmid` was sent but its answer was lost (reset, timeout, proxy error):
 * PVE may be creating VM `vmid` or may never have seen the request. Never resend it blindly: watch
 * whether `vmid` appears (`cloneVm` does), and adopt the VM when it does.
 */
export class CloneOutcomeUnknownError extends LabError {
  static override readonly code: string = 'LAB_CLONE_OUTCOME_UNKNOWN';
  readonly vmid: number;
  constructor(
    facts: { clusterId: string; node: string; sourceVmid: number; vmid: number; reason: string },
    options?: { cause?: unknown },
  ) {
    super(
      CloneOutcomeUnknownError.code,
      `the answer to cloning ${facts.sourceVmid} on ${facts.node} as VM ${facts.vmid} was lost (${facts.reason}); PVE may still create VM ${facts.vmid}, so check for it before cloning again`,
      facts,
      options,
    );
    this.vmid = facts.vmid;
  }
}

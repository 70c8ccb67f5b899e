import { LabError } from '../errors/lab-error.js';
import { CLUSTER_RESOURCES_PATH } from '../pve/cluster-resource.js';

/** The caller may not act on or see this VM. */
export class NotAllowedError extends LabError {
  static override readonly code: string = 'LAB_NOT_ALLOWED';
  constructor(facts: { actor: string; action: string; target: string; reason: string }) {
    super(NotAllowedError.code, `${facts.actor} may not ${facts.action} ${facts.target}: ${facts.reason}`, facts);
  }
}

/** No VM with that id is known to the inventory. */
export class UnknownVmError extends LabError {
  static override readonly code: string = 'LAB_UNKNOWN_VM';
  constructor(clusterId: string, vmid: number) {
    super(
      UnknownVmError.code,
      `no VM ${vmid} on cluster '${clusterId}' is in the inventory; run a sync or check the id`,
      { clusterId, vmid },
    );
  }
}

/**
 * The cluster's resource list answered no guests while the inventory knows some, and the nodes did not
 * confirm that the cluster is empty; the known VMs were kept as they were.
 */
export class UnconfirmedEmptyClusterError extends LabError {
  static override readonly code: string = 'LAB_SYNC_EMPTY_UNCONFIRMED';
  /** Why the emptiness was not confirmed, e.g. `node pve1 lists 4 guests`. */
  readonly reasons: readonly string[];
  constructor(facts: { clusterId: string; known: number; reasons: string[] }) {
    super(
      UnconfirmedEmptyClusterError.code,
      `cluster '${facts.clusterId}' answered GET ${CLUSTER_RESOURCES_PATH} with no VMs, but ${facts.reasons.join('; ')}; kept the ${facts.known} known VMs as they were and will sync again`,
      facts,
    );
    this.reasons = facts.reasons;
  }
}

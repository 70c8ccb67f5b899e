/** A VM named in a summary. */
export interface SummaryVm {
  vmid: number;
  node: string;
  name: string;
}

/** How a deployment ended, checked against the cluster. */
export interface DeploymentSummary {
  deploymentId: string;
  classId: string;
  /** `failed` whenever the cluster does not match the plan; `interrupted` when another process took the deployment over. */
  status: 'done' | 'failed' | 'interrupted';
  created: number;
  kept: number;
  deleted: number;
  failed: Array<{ name: string; error: string }>;
  /** VMs tagged for the class that nothing accounts for and that we did not create: left alone, reported. */
  orphans: SummaryVm[];
  /** VMs that exist for the class (or for a failed item) but are not registered in the store. */
  unregistered: SummaryVm[];
  /** Names more than one of the class's VMs carry. */
  duplicates: string[];
  /** Half-made clones of failed items and leftovers of earlier runs, removed while reconciling. */
  removed: SummaryVm[];
  /** Enrolled students who got no VM (fewer seats than students). */
  unseated: string[];
  /** Students cloned on another node than planned, because the base template could not be copied to theirs. */
  replanned?: Array<{ name: string; from: string; to: string }>;
  durationMs: number;
}

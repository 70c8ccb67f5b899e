import { LabError } from '../errors/lab-error.js';

/** A VM the class wants a name for exists already and is not the class's. */
export class VmNameConflictError extends LabError {
  static override readonly code: string = 'LAB_DEPLOY_CONFLICT';
  constructor(
    readonly conflict: { classId: string; name: string; vmid: number; node: string; suggestion: { student?: string } },
  ) {
    const adopt = `lab adopt ${conflict.vmid} --class ${conflict.classId}${conflict.suggestion.student ? ` --student ${conflict.suggestion.student}` : ''}`;
    super(
      VmNameConflictError.code,
      `VM ${conflict.vmid} on ${conflict.node} is named ${conflict.name} but does not belong to ${conflict.classId}; rename it in Proxmox, or take it over with \`${adopt}\`.`,
      { ...conflict },
    );
  }
}

/** Another deployment of the class is running; says who started it and when. */
export class DeploymentInProgressError extends LabError {
  static override readonly code: string = 'LAB_DEPLOY_IN_PROGRESS';
  constructor(facts: {
    classId: string;
    deploymentId?: string;
    startedBy?: string;
    startedAt?: number;
    /** Set when the owning process stopped renewing its lease: how long ago it last did, and when another process may take over. */
    silent?: { forMs: number; takeoverAt: number };
    /** How long the deployment's lease lives unrenewed: a stopped owner's deployment is taken over within about this. */
    leaseTtlMs?: number;
  }) {
    const who = facts.startedBy ? ` by ${facts.startedBy}` : '';
    const utc = (ms: number, length: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, length)} UTC`;
    const when = facts.startedAt ? ` at ${utc(facts.startedAt, 16)}` : '';
    const started = `A deployment of ${facts.classId}${who || when ? ` started${who}${when}` : ''}`;
    super(
      DeploymentInProgressError.code,
      facts.silent
        ? `${started} has had no heartbeat from its bot for ${Math.round(facts.silent.forMs / 1000)} s; another bot takes it over after ${utc(facts.silent.takeoverAt, 19)}, so try again after that.`
        : `${started} is still running; wait for it to finish, then try again.${
            facts.leaseTtlMs
              ? ` If the process that ran it has stopped, it is taken over automatically within about ${Math.ceil(facts.leaseTtlMs / 1000)} s: run the command again then.`
              : ''
          }`,
      { ...facts },
    );
  }
}

/** A plan deletes VMs and nobody confirmed that. */
export class DeleteConfirmationRequiredError extends LabError {
  static override readonly code: string = 'LAB_DEPLOY_CONFIRM_DELETES';
  constructor(
    classId: string,
    readonly deletes: ReadonlyArray<{ name: string; vmid: number | null; owner: string | null }>,
  ) {
    const list = deletes
      .map((d) => `${d.name}${d.vmid !== null ? ` (${d.vmid})` : ''}${d.owner ? ` of ${d.owner}` : ''}`)
      .join(', ');
    super(
      DeleteConfirmationRequiredError.code,
      `This deployment of ${classId} would delete ${deletes.length} VM(s): ${list}; confirm to go ahead.`,
      { classId, deletes },
    );
  }
}

/** The class changed between planning and applying in a way the confirmed plan did not cover. */
export class PlanChangedError extends LabError {
  static override readonly code: string = 'LAB_DEPLOY_PLAN_CHANGED';
  constructor(classId: string, reason: string) {
    super(
      PlanChangedError.code,
      `The plan for ${classId} changed before it could be applied (${reason}); run the deploy again to see the new plan.`,
      { classId, reason },
    );
  }
}

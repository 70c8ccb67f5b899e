import type { Store } from '../store/store.js';
import { DeploymentInProgressError } from './deployment-errors.js';

/** Who started a class's deployment in this process, and when. */
export interface DeploymentClaim {
  startedBy?: string;
  startedAt: number;
}

/**
 * The classes whose deployment runs in this process (the store's lease has one holder per
 * process, so two runs of a class inside one process are kept apart here). A class is claimed
 * before the first await of an apply and released when its run ends or fails to start.
 */
export class DeploymentClaims {
  readonly #store: Store;
  readonly #active = new Map<string, DeploymentClaim>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Whether a deployment of the class runs, or is starting, in this process. */
  has(classId: string): boolean {
    return this.#active.has(classId);
  }

  /** Claims the class for a deployment of this process. */
  claim(classId: string, claim: DeploymentClaim): void {
    this.#active.set(classId, claim);
  }

  /** Gives the class up. */
  release(classId: string): void {
    this.#active.delete(classId);
  }

  /** The error for a class that is busy: the newest unfinished deployment in the store, else this process's claim. */
  async inProgress(classId: string): Promise<DeploymentInProgressError> {
    const [running] = (await this.#store.deployments.unfinished())
      .filter((d) => d.classId === classId)
      .sort((a, b) => b.createdAt - a.createdAt);
    // A deployment this process has claimed but not recorded yet (it is still checking privileges or taking the lease).
    const claimed = this.#active.get(classId);
    return new DeploymentInProgressError({
      classId,
      ...(running
        ? { deploymentId: running.id, startedBy: running.createdBy, startedAt: running.createdAt }
        : (claimed ?? {})),
    });
  }
}

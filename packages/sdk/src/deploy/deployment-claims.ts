import type { Clock } from '../ports/clock.js';
import type { Store } from '../store/store.js';
import { DeploymentInProgressError } from './deployment-errors.js';
import { deploymentLeaseName } from './deployment-lease.js';

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
  readonly #clock: Clock;
  readonly #leaseTtlMs: number;

  constructor(store: Store, lease: { clock: Clock; ttlMs: number }) {
    this.#store = store;
    this.#clock = lease.clock;
    this.#leaseTtlMs = lease.ttlMs;
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
    const silent = await this.#silentOwner(classId);
    return new DeploymentInProgressError({
      ...(silent ? { silent } : {}),
      classId,
      leaseTtlMs: this.#leaseTtlMs,
      ...(running
        ? { deploymentId: running.id, startedBy: running.createdBy, startedAt: running.createdAt }
        : (claimed ?? {})),
    });
  }

  /**
   * When the lease's holder has missed a renewal (due every third of the TTL, assuming holders share this
   * process's TTL): how long since its last one, and when a take-over may start (expiry + one take-over round).
   */
  async #silentOwner(classId: string): Promise<{ forMs: number; takeoverAt: number } | undefined> {
    const lease = await this.#store.sync.getLease(deploymentLeaseName(classId)).catch(() => undefined);
    if (!lease) return undefined;
    const forMs = this.#clock.now() - (lease.expiresAt - this.#leaseTtlMs);
    if (forMs <= (this.#leaseTtlMs * 2) / 3) return undefined;
    return { forMs, takeoverAt: lease.expiresAt + Math.ceil(this.#leaseTtlMs / 2) };
  }
}

import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Store } from '../store/store.js';

/** Name of the store lease that makes one process the owner of a class's deployment. */
export const deploymentLeaseName = (classId: string): string => `deployment:${classId}`;

/**
 * The lease one process holds while it runs a deployment of a class: taken atomically in the store
 * (so two processes never run one class at once), renewed every third of its time to live, and
 * given up at the end. When a renewal fails the lease is `lost`: the holder must stop scheduling work.
 */
export class DeploymentLease {
  #lost = false;
  readonly #stop = new AbortController();
  readonly #heartbeat: Promise<void>;

  private constructor(
    private readonly store: Store,
    readonly name: string,
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.#heartbeat = this.#beat();
  }

  /** Takes the class's lease for `holder`, or returns undefined when a live holder has it. */
  static async acquire(
    deps: { store: Store; clock: Clock; logger: Logger },
    classId: string,
    holder: string,
    ttlMs: number,
  ): Promise<DeploymentLease | undefined> {
    const name = deploymentLeaseName(classId);
    if (!(await deps.store.sync.acquireLease(name, holder, ttlMs, deps.clock.now()))) return undefined;
    return new DeploymentLease(deps.store, name, holder, ttlMs, deps.clock, deps.logger);
  }

  /** True once a renewal failed: another process may own the deployment now. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Stops renewing and frees the lease (unless it was lost). */
  async release(): Promise<void> {
    this.#stop.abort();
    await this.#heartbeat;
    if (!this.#lost)
      await this.store.sync
        .releaseLease(this.name, this.holder)
        .catch((error: unknown) =>
          this.logger.warn('could not release a deployment lease', { lease: this.name, error }),
        );
  }

  async #beat(): Promise<void> {
    for (;;) {
      try {
        await this.clock.sleep(Math.max(1, Math.floor(this.ttlMs / 3)), this.#stop.signal);
      } catch {
        return;
      }
      const renewed = await this.store.sync
        .acquireLease(this.name, this.holder, this.ttlMs, this.clock.now())
        .catch((error: unknown) => {
          this.logger.warn('deployment lease renewal failed', { lease: this.name, error });
          return undefined;
        });
      if (renewed === false) {
        this.#lost = true;
        this.logger.error('deployment lease lost to another process; no more clones are scheduled here', {
          lease: this.name,
          holder: this.holder,
        });
        return;
      }
    }
  }
}

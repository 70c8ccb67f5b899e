import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';

/** How many clones may run at once: in all, per node, and per storage (per node for local storage). */
export interface DeploymentLimits {
  /** @defaultValue 8 */
  global: number;
  /** @defaultValue 3 */
  perNode: number;
  /**
   * Clones in flight on one storage (per node for local storage), from request to the end of the
   * task. Each takes the storage's allocation lock for a moment (a linked clone on lvm-thin about
   * 1.5 s, then 1 s for its cloud-init drive) and PVE gives up waiting for it after 10 s, so a
   * clone waits behind at most `perStorage − 1` others' holds. 3 keeps that near 3 s, and still
   * keeps one clone queued at the lock while a teacher's full clone holds a slot through its
   * minutes-long copy, so the lock never idles on our round trips. @defaultValue 3
   */
  perStorage: number;
}

/** Limits a 3-node lab on lvm-thin survives. */
export const DefaultDeploymentLimits: DeploymentLimits = { global: 8, perNode: 3, perStorage: 3 };

/** The limiters of one deployment run. */
export class DeploymentThrottle {
  readonly #global: ConcurrencyLimiter;
  readonly #nodes = new Map<string, ConcurrencyLimiter>();
  readonly #storages = new Map<string, ConcurrencyLimiter>();

  constructor(private readonly limits: DeploymentLimits) {
    this.#global = new ConcurrencyLimiter(limits.global);
  }

  /**
   * Runs `task` once a node, a storage and a global slot are free, always taken in that order: work
   * queued behind one busy node or storage holds no global slot while other nodes sit idle.
   */
  run<T>(node: string, storageKey: string, task: () => Promise<T>): Promise<T> {
    const nodeLimiter = this.#get(this.#nodes, node, this.limits.perNode);
    const storageLimiter = this.#get(this.#storages, storageKey, this.limits.perStorage);
    return nodeLimiter.run(() => storageLimiter.run(() => this.#global.run(task)));
  }

  #get(map: Map<string, ConcurrencyLimiter>, key: string, limit: number): ConcurrencyLimiter {
    let limiter = map.get(key);
    if (!limiter) {
      limiter = new ConcurrencyLimiter(limit);
      map.set(key, limiter);
    }
    return limiter;
  }
}

import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { CopyCloneLane, type CopyCloneTicket } from './copy-clone-lane.js';

/**
 * How many clones may run at once: in one deployment, and — over every deployment one engine runs
 * at once on a cluster — per node and per storage (per node for local storage).
 */
export interface DeploymentLimits {
  /**
   * Clones of one deployment in flight. A class spread over five nodes clones on four of them at
   * once when their copies of the base arrive together, and each storage needs about three in
   * flight to keep its lock busy. @defaultValue 12
   */
  global: number;
  /** Clones in flight on one node, over the engine's deployments. @defaultValue 3 */
  perNode: number;
  /**
   * Clones in flight on one storage (per node for local storage), from request to the end of the
   * task. Each takes the storage's allocation lock for a moment (a linked clone on lvm-thin about
   * 1.5 s, then 1 s for its cloud-init drive) and PVE gives up waiting for it after 10 s, so a
   * clone waits behind at most `perStorage − 1` others' holds. 3 keeps that near 3 s and keeps one
   * clone queued at the lock, so the lock never idles on our round trips. Over the engine's
   * deployments. A full clone holds a slot only until its copy starts. @defaultValue 3
   */
  perStorage: number;
  /**
   * Full copies (teacher VMs, copies of a base) at once on one storage, over the engine's
   * deployments. They share the storage's throughput, so more at once finishes none sooner; a few
   * keep it busy while the next one allocates. @defaultValue 4
   */
  copiesPerStorage: number;
}

/** Limits a 3-node lab on lvm-thin survives. */
export const DefaultDeploymentLimits: DeploymentLimits = { global: 12, perNode: 3, perStorage: 3, copiesPerStorage: 4 };

/**
 * The node and storage limiters one engine shares between the deployments it runs at once on one
 * cluster (twenty classes on the first day of term take their turns at the same storage locks).
 */
export class ClusterThrottle {
  readonly #nodes = new Map<string, ConcurrencyLimiter>();
  readonly #storages = new Map<string, ConcurrencyLimiter>();
  readonly #copies = new Map<string, ConcurrencyLimiter>();
  readonly #migrations = new Map<string, ConcurrencyLimiter>();
  readonly #copyLanes = new Map<string, CopyCloneLane>();

  constructor(readonly limits: DeploymentLimits) {}

  /** The lane the clones of copies of bases on `storageKey` take, one after the other. */
  copyLane(storageKey: string): CopyCloneLane {
    let lane = this.#copyLanes.get(storageKey);
    if (!lane) {
      lane = new CopyCloneLane();
      this.#copyLanes.set(storageKey, lane);
    }
    return lane;
  }

  node(node: string): ConcurrencyLimiter {
    return limiterOf(this.#nodes, node, this.limits.perNode);
  }

  storage(storageKey: string): ConcurrencyLimiter {
    return limiterOf(this.#storages, storageKey, this.limits.perStorage);
  }

  copies(storageKey: string): ConcurrencyLimiter {
    return limiterOf(this.#copies, storageKey, this.limits.copiesPerStorage);
  }

  /** Migrations into a storage at once: two, so one starts while the other ends. */
  migrations(storageKey: string): ConcurrencyLimiter {
    return limiterOf(this.#migrations, storageKey, 2);
  }
}

/** The limiters of one deployment run: its own global limit, and its cluster's node and storage limits. */
export class DeploymentThrottle {
  readonly #global: ConcurrencyLimiter;
  readonly #cluster: ClusterThrottle;

  constructor(limits: DeploymentLimits, cluster?: ClusterThrottle) {
    this.#global = new ConcurrencyLimiter(limits.global);
    this.#cluster = cluster ?? new ClusterThrottle(limits);
  }

  /**
   * Runs `task` once a node, a storage and a global slot are free, always taken in that order: work
   * queued behind one busy node or storage holds no global slot while other nodes sit idle.
   */
  run<T>(node: string, storageKey: string, task: () => Promise<T>): Promise<T> {
    const storageLimiter = this.#cluster.storage(storageKey);
    return this.#cluster.node(node).run(() => storageLimiter.run(() => this.#global.run(task)));
  }

  /**
   * Queues the clone of a copy of a base beside it on `storageKey` in the engine's lane there
   * ({@link CopyCloneLane}); answers its turn's `leave`.
   */
  enterCopyLane(storageKey: string, ticket: CopyCloneTicket): Promise<() => void> {
    return this.#cluster.copyLane(storageKey).enter(ticket);
  }

  /** Whether a full clone on `storageKey` would get a copy slot now, without waiting. */
  copySlotFree(storageKey: string): boolean {
    const copies = this.#cluster.copies(storageKey);
    return copies.active < copies.limit && copies.waiting === 0;
  }

  /**
   * Runs a full clone: once a copy slot of the storage is free, then a node, storage and global slot
   * as {@link run} (ahead of the linked clones waiting for one); `task` calls `copying()` when its copy has started (its allocations are done),
   * which frees the node and storage slots for the next clones while the copy and global slots stay
   * held (with `global: 1` a deployment still makes one clone at a time). `copiesAtOnce`: how many
   * copies run on the storage as this one starts, itself included.
   */
  async runCopy<T>(
    node: string,
    storageKey: string,
    task: (copying: () => void, copiesAtOnce: number) => Promise<T>,
  ): Promise<T> {
    const copies = this.#cluster.copies(storageKey);
    return copies.run(async () => {
      // Ahead of the clones waiting there: a copy is the longest chain, and it only allocates.
      const releaseNode = await this.#cluster.node(node).acquire({ first: true });
      const releaseStorage = await this.#cluster.storage(storageKey).acquire({ first: true });
      const copying = () => {
        releaseStorage();
        releaseNode();
      };
      try {
        return await this.#global.run(() => task(copying, copies.active));
      } finally {
        copying();
      }
    });
  }

  /**
   * Runs a clone that others wait for (a copy of the base) under a node, storage and global slot
   * as {@link run}, ahead of the clones waiting for one.
   */
  async runFirst<T>(node: string, storageKey: string, task: () => Promise<T>): Promise<T> {
    const releaseNode = await this.#cluster.node(node).acquire({ first: true });
    try {
      const releaseStorage = await this.#cluster.storage(storageKey).acquire({ first: true });
      try {
        const releaseGlobal = await this.#global.acquire({ first: true });
        try {
          return await task();
        } finally {
          releaseGlobal();
        }
      } finally {
        releaseStorage();
      }
    } finally {
      releaseNode();
    }
  }

  /**
   * Runs a migration into `storageKey` once fewer than two of the engine's deployments' migrations
   * run into it: the students there wait for the whole copy, so a few copies at a time, each at a
   * good share of the storage's speed, let the first ones start sooner than all of them sharing it,
   * and end no later; the second keeps the storage busy while the first ends and the next starts.
   */
  runMigration<T>(storageKey: string, task: () => Promise<T>): Promise<T> {
    return this.#cluster.migrations(storageKey).run(task);
  }
}

function limiterOf(map: Map<string, ConcurrencyLimiter>, key: string, limit: number): ConcurrencyLimiter {
  let limiter = map.get(key);
  if (!limiter) {
    limiter = new ConcurrencyLimiter(limit);
    map.set(key, limiter);
  }
  return limiter;
}

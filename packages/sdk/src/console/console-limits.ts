import type { Clock } from '../ports/clock.js';
import { DEFAULT_LEASE_TTL_MS, leaseHolderId, whileHoldingLease } from '../store/lease-heartbeat.js';
import type { Store } from '../store/store.js';
import { ConsoleBusyError, ConsoleRateLimitedError } from './console-errors.js';

/** Caps of console sessions and links. */
export interface ConsoleLimits {
  /** Sessions one person may have open at once. */
  perPerson: number;
  /** Sessions open at once on one VM. */
  perVm: number;
  /**
   * Sessions open at once on one node, all processes together: each holds one of PVE's 100 VNC
   * ports (5900–5999), which PVE's own GUI console shares.
   */
  perNode: number;
  /** Links one person may ask for per minute. */
  linksPerMinute: number;
}

/** Defaults of the console caps: well below PVE's 100 VNC ports per node. */
export const DefaultConsoleLimits: ConsoleLimits = { perPerson: 3, perVm: 2, perNode: 40, linksPerMinute: 10 };

/** A session's place under the caps, held until `release`. */
export interface HeldConsoleSlots {
  release(): Promise<void>;
}

interface Slot {
  limit: 'person' | 'vm' | 'node';
  prefix: string;
  max: number;
}

/**
 * Counts console sessions in the store, so every `lab serve` process shares the caps: each open
 * session holds one numbered lease per cap (`console-person:<id>:<n>`, `console-vm:…`,
 * `console-node:…`) with a heartbeat, so a session of a process that died frees its place after
 * the lease's time to live. Links are rate-limited per person by an atomic store counter.
 */
export class ConsoleSessionLimits {
  readonly limits: ConsoleLimits;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(deps: { store: Store; clock: Clock; limits?: Partial<ConsoleLimits>; leaseTtlMs?: number }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.limits = { ...DefaultConsoleLimits, ...deps.limits };
    this.#ttlMs = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /** Counts a new link of `personId`; `ConsoleRateLimitedError` past `linksPerMinute`. */
  async countLink(personId: number): Promise<void> {
    const { allowed } = await this.#store.rateLimits.hit(
      `console-link:${personId}`,
      this.limits.linksPerMinute,
      60_000,
      this.#clock.now(),
    );
    if (!allowed) throw new ConsoleRateLimitedError({ perMinute: this.limits.linksPerMinute });
  }

  /** `ConsoleBusyError` when a session of `personId` on the VM would go over a cap now (nothing is taken). */
  async check(personId: number, vm: { clusterId: string; vmid: number; node: string }): Promise<void> {
    for (const slot of this.#slots(personId, vm)) {
      const live = await this.#store.sync.liveLeases(slot.prefix, this.#clock.now());
      if (live.length >= slot.max) throw this.#busy(slot, vm);
    }
  }

  /** Takes a place under every cap for a session, renewed until `release`; `ConsoleBusyError` when one is full. */
  async take(personId: number, vm: { clusterId: string; vmid: number; node: string }): Promise<HeldConsoleSlots> {
    const holder = leaseHolderId();
    const held: Array<{ name: string; release: () => void; done: Promise<void> }> = [];
    const releaseAll = async () => {
      for (const h of held) h.release();
      await Promise.all(held.map((h) => h.done));
      await Promise.all(held.map((h) => this.#store.sync.releaseLease(h.name, holder)));
    };
    try {
      for (const slot of this.#slots(personId, vm)) {
        const name = await this.#takeOne(slot, holder);
        if (!name) throw this.#busy(slot, vm);
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const done = whileHoldingLease(
          { store: this.#store, clock: this.#clock, name, holder, ttlMs: this.#ttlMs },
          () => released,
        );
        held.push({ name, release, done });
      }
    } catch (error) {
      await releaseAll();
      throw error;
    }
    let once: Promise<void> | undefined;
    return { release: () => (once ??= releaseAll()) };
  }

  async #takeOne(slot: Slot, holder: string): Promise<string | undefined> {
    const now = this.#clock.now();
    const taken = new Set((await this.#store.sync.liveLeases(slot.prefix, now)).map((l) => l.name));
    for (let i = 0; i < slot.max; i++) {
      const name = `${slot.prefix}${i}`;
      if (taken.has(name)) continue;
      if (await this.#store.sync.acquireLease(name, holder, this.#ttlMs, now)) return name;
    }
    return undefined;
  }

  #slots(personId: number, vm: { clusterId: string; vmid: number; node: string }): Slot[] {
    return [
      { limit: 'person', prefix: `console-person:${personId}:`, max: this.limits.perPerson },
      { limit: 'vm', prefix: `console-vm:${vm.clusterId}/${vm.vmid}:`, max: this.limits.perVm },
      { limit: 'node', prefix: `console-node:${vm.clusterId}/${vm.node}:`, max: this.limits.perNode },
    ];
  }

  #busy(slot: Slot, vm: { vmid: number; node: string }): ConsoleBusyError {
    return new ConsoleBusyError({ limit: slot.limit, max: slot.max, vmid: vm.vmid, node: vm.node });
  }
}

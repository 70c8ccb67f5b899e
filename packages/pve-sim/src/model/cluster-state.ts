import { die } from '../sim-error.js';
import type { SimTime } from '../sim-time.js';
import { BandwidthPool } from './bandwidth-pool.js';
import { SdnState } from './sdn.js';
import { TaskManager } from './task-manager.js';
import { pveVersionAtLeast } from '../pve-version.js';
import { TimedMutex } from './timed-mutex.js';
import type { SimGuest, SimNode, SimStorageDef, SimTimings, SimVolume } from './types.js';

/** A storage as it exists on one node (a shared storage is one instance for all nodes). */
export interface StorageInstance {
  def: SimStorageDef;
  /** The node of a local storage; undefined for a shared one. */
  node?: string;
  volumes: Map<string, SimVolume>;
  /** lvm-thin: blocks of freed volumes that thin snapshots still map, by the freed volume's name. */
  retained: Map<string, { bytes: number; thinOrigin?: string }>;
  lock: TimedMutex;
  bandwidth: BandwidthPool;
}

/** The Linux bridges every simulated node has (`/etc/network/interfaces`). */
export const NODE_BRIDGES = ['vmbr0'];

/** The whole mutable state of one simulated PVE cluster. */
export class ClusterState {
  readonly nodes = new Map<string, SimNode>();
  readonly storageDefs = new Map<string, SimStorageDef>();
  readonly storages = new Map<string, StorageInstance>();
  readonly guests = new Map<number, SimGuest>();
  readonly pools = new Set<string>();
  /** Every clone request PVE accepted (a task was started), oldest first: tests count them per name. */
  readonly acceptedClones: Array<{
    sourceVmid: number;
    newid: number;
    name: string | null;
    node: string;
    outcome: 'running' | 'ok' | 'failed';
  }> = [];
  /** Config file locks (`/var/lock/qemu-server/lock-<vmid>.conf`) by VMID. */
  readonly #configLocks = new Map<number, TimedMutex>();
  readonly tasks: TaskManager;
  /** PVE's SDN: pending and running zones, VNets, subnets, and the VNet bridges each node has. */
  readonly sdn = new SdnState();
  /** The PVE version simulated (`9.1.3`), for behaviours that changed between releases. */
  pveVersion = '9.1.3';
  /** The share of guests that ignore a shutdown request (decided once per guest, seeded). */
  ignoreAcpiRate = 0;

  constructor(
    readonly name: string,
    readonly time: SimTime,
    readonly timings: SimTimings,
  ) {
    this.tasks = new TaskManager(time);
  }

  /** Whether `/cluster/sdn` exists: SDN is part of PVE from 8.1 on (before, the optional tech-preview package). */
  get sdnAvailable(): boolean {
    return pveVersionAtLeast(this.pveVersion, 8, 1);
  }

  /**
   * Whether `bridge` exists on `node`: a node bridge (`vmbr0`, every simulated node has it) or a
   * VNet an apply's network reload created there (pending VNets do not count).
   */
  bridgeExists(node: string, bridge: string): boolean {
    return NODE_BRIDGES.includes(bridge) || this.sdn.vnetOnNode(node, bridge);
  }

  /** The config file lock of `vmid` (PVE's `lock_config`): a FIFO with timeouts. */
  configLock(vmid: number): TimedMutex {
    let lock = this.#configLocks.get(vmid);
    if (!lock) {
      lock = new TimedMutex(this.time);
      this.#configLocks.set(vmid, lock);
    }
    return lock;
  }

  /**
   * Whether `/cluster/resources` still shows `guest` as pvestatd has not seen it yet: from its
   * creation until the next status round (every `statusRoundSeconds` of simulated time).
   */
  isFresh(guest: SimGuest, now = this.time.now()): boolean {
    if (guest.createdAt === undefined) return false;
    const round = this.timings.statusRoundSeconds * 1000;
    if (round <= 0) return false;
    return Math.floor(now / round) === Math.floor(guest.createdAt / round);
  }

  /** Adds a node. */
  addNode(node: SimNode): void {
    this.nodes.set(node.name, node);
  }

  /** Adds a storage definition and its instances (one per node, or one if shared). */
  addStorage(def: SimStorageDef): void {
    this.storageDefs.set(def.id, def);
    const make = (node?: string): StorageInstance => ({
      def,
      ...(node === undefined ? {} : { node }),
      volumes: new Map(),
      retained: new Map(),
      lock: new TimedMutex(this.time),
      bandwidth: new BandwidthPool(this.time, def.throughputBytesPerSec, this.timings.copyTickSeconds),
    });
    if (def.shared) this.storages.set(def.id, make());
    else for (const node of def.nodes) this.storages.set(`${node}/${def.id}`, make(node));
  }

  /** The instance of storage `id` as seen from `node`, or undefined if that node lacks it. */
  storageOn(node: string, id: string): StorageInstance | undefined {
    const def = this.storageDefs.get(id);
    if (!def || !def.nodes.includes(node)) return undefined;
    return def.shared ? this.storages.get(id) : this.storages.get(`${node}/${id}`);
  }

  /** The node, or PVE's error for an unknown node name. */
  requireNode(name: string): SimNode {
    const node = this.nodes.get(name);
    if (!node)
      throw die(
        `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`,
      );
    return node;
  }

  /** The guest `vmid` of `type` on `node`, or PVE's "does not exist" error. */
  requireGuest(node: string, vmid: number, type: 'qemu' | 'lxc'): SimGuest {
    const guest = this.guests.get(vmid);
    if (!guest || guest.node !== node || guest.type !== type) {
      const dir = type === 'qemu' ? 'qemu-server' : 'lxc';
      throw die(`Configuration file 'nodes/${node}/${dir}/${vmid}.conf' does not exist`);
    }
    return guest;
  }

  /** Lowest free VMID ≥ 100 (PVE's `/cluster/nextid`; it reserves nothing). */
  nextFreeVmid(from = 100): number {
    let id = from;
    while (this.guests.has(id)) id++;
    return id;
  }

  /** Bytes of memory the running guests of `node` use. */
  usedMemory(node: string): number {
    const host = this.nodes.get(node);
    let used = host?.baseMem ?? 0;
    for (const g of this.guests.values()) if (g.node === node && g.status === 'running') used += guestMemoryBytes(g);
    return used;
  }

  /** CPU fraction (0–1) `node` uses. */
  cpuUsage(node: string): number {
    const host = this.nodes.get(node);
    if (!host || !host.online) return 0;
    let busy = 0;
    for (const g of this.guests.values())
      if (g.node === node && g.status === 'running') busy += g.cpuLoad * guestCores(g);
    return Math.min(1, host.baseCpu + busy / host.maxcpu);
  }
}

/** The memory a guest is configured with, in bytes. */
export function guestMemoryBytes(guest: SimGuest): number {
  const raw = guest.config.memory ?? '512';
  const current = /current=(\d+)/.exec(raw)?.[1] ?? raw;
  return Number.parseInt(current, 10) * 1024 * 1024;
}

/** The cores a guest is configured with. */
export function guestCores(guest: SimGuest): number {
  return Number.parseInt(guest.config.cores ?? '1', 10) * Number.parseInt(guest.config.sockets ?? '1', 10);
}

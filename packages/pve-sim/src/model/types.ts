/** Storage plugin types the simulator models. */
export type StorageType = 'lvmthin' | 'lvm' | 'dir' | 'zfspool' | 'nfs' | 'rbd';

/** One node of the simulated cluster. */
export interface SimNode {
  name: string;
  online: boolean;
  maxcpu: number;
  maxmem: number;
  /** Memory the host itself uses, in bytes. */
  baseMem: number;
  /** CPU fraction the host uses with no guest running. */
  baseCpu: number;
  bootedAt: number;
  ip: string;
  rootfsTotal: number;
}

/** A storage definition; a non-shared one exists once per node in `nodes`. */
export interface SimStorageDef {
  id: string;
  type: StorageType;
  shared: boolean;
  nodes: string[];
  content: string;
  totalBytes: number;
  /** Copy bandwidth of one storage instance, shared by the copies running on it. */
  throughputBytesPerSec: number;
  /** Image format of new disks on dir/nfs storages (linked clones of either are qcow2). */
  format: 'raw' | 'qcow2';
}

/** A disk image on a storage instance. */
export interface SimVolume {
  volname: string;
  vmid: number;
  sizeBytes: number;
  /** Bytes it really takes (a linked clone starts near zero). */
  usedBytes: number;
  /**
   * lvm-thin only: the volume this one is a thin snapshot of (a linked clone's base). PVE does not
   * show it (not in the volume id, not in the content list); the pool keeps the blocks they share.
   */
  thinOrigin?: string;
}

/** A QEMU VM or LXC container. `config` holds PVE's config lines as strings. */
export interface SimGuest {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  config: Record<string, string>;
  status: 'running' | 'stopped';
  startedAt?: number;
  agentReadyAt?: number;
  /** Who is logged in (the guest agent's `get-users`), with the login time in simulated ms; cleared when it stops. */
  loggedIn?: Array<{ user: string; loginAt: number; domain?: string }>;
  /** CPU fraction (of its cores) the guest uses while running. */
  cpuLoad: number;
  pool?: string;
  /**
   * Simulated time the guest was created. Until the status daemon's next round after it,
   * `/cluster/resources` shows the guest without name, template and usage fields.
   */
  createdAt?: number;
  /** HA state when the guest is an HA resource (`started`, `stopped`, …). */
  hastate?: string;
  /** The guest does not power off when asked to shut down (no ACPI daemon, a hung OS). */
  ignoresAcpi?: boolean;
}

/** A PVE task. */
export interface SimTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  pid: number;
  pstart: number;
  starttime: number;
  endtime?: number;
  status: 'running' | 'stopped';
  exitstatus?: string;
  log: string[];
  /** `WARN:` lines still to be logged before the task ends (a `task-warnings` fault). */
  pendingWarnings?: string[];
}

/** Durations (in PVE seconds) and sizes of the capacity model. */
export interface SimTimings {
  /** Time a linked clone holds the storage lock (snapshot/thin clone). */
  linkedCloneSeconds: number;
  /** Time a full clone holds the storage lock to allocate its target volume. */
  allocateSeconds: number;
  /** Time converting a VM to a template takes. */
  templateSeconds: number;
  startSeconds: number;
  stopSeconds: number;
  shutdownSeconds: number;
  destroySeconds: number;
  /** From start until the guest agent answers. */
  agentBootSeconds: number;
  /** How long a task waits for a storage lock before failing (PVE: 10 s). */
  storageLockTimeoutSeconds: number;
  /** Interval of the copy model and of progress lines. */
  copyTickSeconds: number;
  /** Interval of pvestatd's rounds, which fill `/cluster/resources` with a new guest's name and usage (PVE: 10 s). */
  statusRoundSeconds: number;
  /** One node's network reload (`ifreload -a`) in an SDN apply; `reloadnetworkall` does the nodes in turn. */
  sdnReloadSeconds: number;
  /** From a clone request's answer until its worker holds the new VM's config lock (fork, cfs). */
  workerStartSeconds: number;
}

/** The timing model PVE on SSD-backed lvm-thin roughly shows. */
export const DefaultTimings: SimTimings = {
  linkedCloneSeconds: 1.5,
  allocateSeconds: 1,
  templateSeconds: 3,
  startSeconds: 2,
  stopSeconds: 1.5,
  shutdownSeconds: 6,
  destroySeconds: 2,
  agentBootSeconds: 20,
  storageLockTimeoutSeconds: 10,
  copyTickSeconds: 0.25,
  statusRoundSeconds: 10,
  workerStartSeconds: 0.2,
  sdnReloadSeconds: 2,
};

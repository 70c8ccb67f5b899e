import { die, paramError } from '../sim-error.js';
import { guestMemoryBytes, type ClusterState, type StorageInstance } from './cluster-state.js';
import { formatDrive, isDriveKey, listDrives, parseDrive, type DriveInfo } from './drives.js';
import {
  cloudinitVolname,
  diskVolname,
  formatBytesHuman,
  formatSize,
  linkedVolname,
  parseSize,
  parseVolid,
  supportsLinkedClone,
  toBaseVolname,
} from './storage-naming.js';
import type { SimGuest, SimTask } from './types.js';

/** Parameters of a clone request, already type-checked against the schema. */
export interface CloneParams {
  newid: number;
  name?: string;
  full?: boolean;
  target?: string;
  storage?: string;
  format?: string;
  pool?: string;
  description?: string;
}

/** The guest-level operations PVE offers, with PVE's checks, locks, timings and errors. */
export class GuestOperations {
  /**
   * The next N clones end their task with `TASK OK` but keep `lock: clone` on the new VM forever
   * (a fault scripted by tests: the task says done, the VM is not).
   */
  stuckClones = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly random: () => number,
  ) {}

  #seconds(s: number): Promise<void> {
    return this.state.time.sleep(s * 1000);
  }

  #mac(): string {
    const bytes = [0xbc, 0x24, 0x11, ...Array.from({ length: 3 }, () => Math.floor(this.random() * 256))];
    return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
  }

  #uuid(): string {
    const h = () => Math.floor(this.random() * 0x10000).toString(16).padStart(4, '0');
    return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
  }

  #checkLock(guest: SimGuest, skiplock = false): void {
    const lock = guest.config.lock;
    if (lock && !skiplock) throw die(`VM is locked (${lock})`);
  }

  #checkNodeOnline(node: string): void {
    const host = this.state.requireNode(node);
    if (!host.online) throw die(`595 Errors during connection establishment, proxy handshake: No route to host`);
  }

  /** `POST /nodes/{node}/qemu/{vmid}/clone`. */
  clone(node: string, vmid: number, params: CloneParams, user: string): SimTask {
    const source = this.state.requireGuest(node, vmid, 'qemu');
    const isTemplate = source.config.template === '1';
    this.#checkLock(source);
    const full = params.full ?? !isTemplate;
    if (params.storage !== undefined && !full) throw die(`parameter 'storage' not allowed for linked clones`);
    if (params.format !== undefined && !full) throw die(`parameter 'format' not allowed for linked clones`);
    let target = params.target;
    if (target === node) target = undefined;
    if (target !== undefined) {
      const t = this.state.nodes.get(target);
      if (!t) throw paramError({ target: `no such cluster node '${target}'` });
      if (!t.online) throw die(`target node '${target}' is not online`);
    }
    const drives = listDrives(source.config).filter((d) => !d.isCdrom || d.isCloudinit);
    let sharedOnly = true;
    for (const drive of drives) {
      const vol = parseVolid(drive.volid);
      const store = vol && this.state.storageDefs.get(vol.storage);
      if (!store?.shared) sharedOnly = false;
      // PVE's 'clone' storage feature needs a base (template) volume on a storage that can link to it.
      if (!full && !drive.isCloudinit && store && (!isTemplate || !supportsLinkedClone(store))) {
        throw die(`Linked clone feature is not supported for '${drive.volid}' (${drive.key})`);
      }
    }
    if (target !== undefined && !sharedOnly) throw die(`can't clone VM to node '${target}' (VM uses local storage)`);
    const targetNode = target ?? node;
    if (params.storage !== undefined && !this.state.storageOn(targetNode, params.storage)) {
      throw die(`storage '${params.storage}' is not available on node '${targetNode}'`);
    }
    const existing = this.state.guests.get(params.newid);
    if (existing) {
      throw die(existing.node === targetNode
        ? `unable to create VM ${params.newid}: config file already exists`
        : `unable to create VM ${params.newid}: VM ${params.newid} already exists on node '${existing.node}'`);
    }
    // The new VM appears at once with only `lock: clone`, as PVE's temporary config file does.
    const newGuest: SimGuest = { vmid: params.newid, type: 'qemu', node: targetNode, config: { lock: 'clone' }, status: 'stopped', cpuLoad: 0.1 };
    if (params.pool) newGuest.pool = params.pool;
    this.state.guests.set(params.newid, newGuest);
    this.state.acceptedClones.push({ sourceVmid: vmid, newid: params.newid, name: params.name ?? null, node: targetNode });
    const stuck = this.stuckClones > 0;
    if (stuck) this.stuckClones--;
    return this.state.tasks.start(node, 'qmclone', String(vmid), user, (log) =>
      this.#cloneWorker(log, source, newGuest, drives, full, params, stuck),
    );
  }

  async #cloneWorker(log: (l: string) => void, source: SimGuest, guest: SimGuest, drives: DriveInfo[], full: boolean, params: CloneParams, stuck: boolean): Promise<void> {
    const created: Array<{ store: StorageInstance; volname: string }> = [];
    const base: Record<string, string> = {};
    for (const [key, value] of Object.entries(source.config)) {
      if (isDriveKey(key) || key === 'template' || key === 'lock' || key.startsWith('unused') || key === 'digest') continue;
      base[key] = value;
    }
    for (const [key, value] of Object.entries(base)) {
      if (/^net\d+$/.test(key)) base[key] = value.replace(/(virtio|e1000|rtl8139|vmxnet3)=[0-9A-F:]{17}/i, `$1=${this.#mac()}`);
    }
    if (base.smbios1) base.smbios1 = base.smbios1.replace(/uuid=[0-9a-f-]+/i, `uuid=${this.#uuid()}`);
    else base.smbios1 = `uuid=${this.#uuid()}`;
    if (base.vmgenid) base.vmgenid = this.#uuid();
    base.name = params.name ?? `Copy-of-VM-${source.config.name ?? source.vmid}`;
    if (params.description !== undefined) base.description = params.description;
    const finished: Record<string, string> = {};
    // CD-ROM lines (ISO or empty) are copied as they are.
    for (const d of listDrives(source.config)) if (d.isCdrom && !d.isCloudinit) finished[d.key] = source.config[d.key]!;
    try {
      let diskIndex = 0;
      for (const drive of drives) {
        const vol = parseVolid(drive.volid)!;
        const srcStore = this.state.storageOn(source.node, vol.storage)!;
        const storeId = drive.isCloudinit || !full ? vol.storage : (params.storage ?? vol.storage);
        const store = this.state.storageOn(guest.node, storeId);
        if (!store) throw new Error(`storage '${storeId}' is not available on node '${guest.node}'`);
        const srcVolume = srcStore.volumes.get(vol.volname);
        const size = srcVolume?.sizeBytes ?? parseSize(drive.options.size ?? '0');
        const linked = !full && !drive.isCloudinit;
        let volname: string;
        if (drive.isCloudinit) {
          volname = cloudinitVolname(store.def, guest.vmid);
        } else if (linked) {
          volname = linkedVolname(store.def, vol.volname, guest.vmid, diskIndex++);
          log(`create linked clone of drive ${drive.key} (${drive.volid})`);
        } else {
          volname = diskVolname(store.def, guest.vmid, diskIndex++);
          log(`create full clone of drive ${drive.key} (${drive.volid})`);
        }
        await this.#withStorageLock(store, log, linked ? this.state.timings.linkedCloneSeconds : this.state.timings.allocateSeconds, () => {
          store.volumes.set(volname, { volname, vmid: guest.vmid, sizeBytes: size, usedBytes: linked ? Math.min(size, 64 * 1024 ** 2) : size });
          created.push({ store, volname });
        });
        if (!linked && !drive.isCloudinit) {
          let lastLogged = -1;
          await store.bandwidth.copy(size, (done) => {
            const percent = (done / size) * 100;
            if (Math.floor(percent) === lastLogged && done < size) return;
            lastLogged = Math.floor(percent);
            log(`transferred ${formatBytesHuman(done)} of ${formatBytesHuman(size)} (${percent.toFixed(2)}%)`);
          });
        }
        const options = { ...drive.options };
        finished[drive.key] = formatDrive(`${storeId}:${volname}`, drive.isCloudinit ? { media: 'cdrom' } : options);
        guest.config = { ...base, ...finished, lock: 'clone' };
      }
      if (stuck) return; // the scripted fault: the lock stays although the task reports OK
      guest.config = { ...base, ...finished };
    } catch (err) {
      for (const { store, volname } of created) store.volumes.delete(volname);
      this.state.guests.delete(guest.vmid);
      throw new Error(`clone failed: ${(err as Error).message}`);
    }
  }

  /** Runs `work` under the storage's allocation lock, holding it `holdSeconds`, with PVE's messages and timeout. */
  async #withStorageLock(store: StorageInstance, log: (l: string) => void, holdSeconds: number, work: () => void): Promise<void> {
    const cfs = store.def.shared;
    const waited = store.lock.busy;
    if (waited) log(cfs ? `trying to acquire cfs lock 'storage-${store.def.id}' ...` : 'trying to acquire lock...');
    let release: () => void;
    try {
      release = await store.lock.acquire(this.state.timings.storageLockTimeoutSeconds * 1000);
    } catch {
      if (!cfs) log(' failed');
      throw new Error(cfs ? `cfs-lock 'storage-${store.def.id}' error: got lock request timeout` : `can't lock file '/var/lock/pve-manager/pve-storage-${store.def.id}' - got timeout`);
    }
    if (waited && !cfs) log(' OK');
    try {
      await this.#seconds(holdSeconds);
      work();
    } finally {
      release();
    }
  }

  /**
   * `POST /nodes/{node}/qemu/{vmid}/migrate`, offline: local disks are copied to the same storage
   * id on the target node over the network model, then the VM moves there.
   */
  migrate(node: string, vmid: number, params: { target: string; online?: boolean; targetstorage?: string }, user: string): SimTask {
    this.#checkNodeOnline(node);
    const guest = this.state.requireGuest(node, vmid, 'qemu');
    this.#checkLock(guest);
    if (params.target === node) throw die(`target is local node.`);
    const target = this.state.nodes.get(params.target);
    if (!target) throw paramError({ target: `no such cluster node '${params.target}'` });
    if (!target.online) throw die(`target node '${params.target}' is not online`);
    if (guest.status === 'running' && !params.online) throw die(`can't migrate running VM without --online`);
    const disks = listDrives(guest.config).filter((d) => !d.isCdrom || d.isCloudinit);
    const moves: Array<{ drive: DriveInfo; from: StorageInstance; to: StorageInstance; volname: string }> = [];
    for (const drive of disks) {
      const vol = parseVolid(drive.volid);
      if (!vol) continue;
      const from = this.state.storageOn(node, vol.storage);
      if (!from || from.def.shared) continue;
      const toId = params.targetstorage ?? vol.storage;
      const to = this.state.storageOn(params.target, toId);
      if (!to) throw die(`storage '${toId}' is not available on node '${params.target}'`);
      moves.push({ drive, from, to, volname: vol.volname });
    }
    guest.config.lock = 'migrate';
    return this.state.tasks.start(node, 'qmigrate', String(vmid), user, async (log) => {
      log(`starting migration of VM ${vmid} to node '${params.target}' (${target.ip})`);
      try {
        for (const move of moves) {
          const volume = move.from.volumes.get(move.volname);
          const size = volume?.sizeBytes ?? 0;
          log(`found local disk '${move.drive.volid}' (attached)`);
          log(`copying local disk '${move.drive.volid}' to '${move.to.def.id}' on ${params.target}`);
          await move.to.bandwidth.copy(size, (done) => log(`transferred ${formatBytesHuman(done)} of ${formatBytesHuman(size)} (${((done / Math.max(1, size)) * 100).toFixed(2)}%)`));
          move.from.volumes.delete(move.volname);
          if (volume) move.to.volumes.set(move.volname, volume);
          if (move.to.def.id !== move.from.def.id) {
            guest.config[move.drive.key] = guest.config[move.drive.key]!.replace(`${move.from.def.id}:`, `${move.to.def.id}:`);
          }
        }
        guest.node = params.target;
        log('migration finished successfully');
      } finally {
        delete guest.config.lock;
      }
    });
  }

  /** `POST /nodes/{node}/qemu/{vmid}/template`. */
  convertToTemplate(node: string, vmid: number, user: string): SimTask {
    const guest = this.state.requireGuest(node, vmid, 'qemu');
    this.#checkLock(guest);
    if (guest.config.template === '1') throw die(`you can't convert a template to a template`);
    if (guest.status === 'running') throw die(`you can't convert a VM to template if VM is running`);
    guest.config.lock = 'create';
    return this.state.tasks.start(node, 'qmtemplate', String(vmid), user, async () => {
      await this.#seconds(this.state.timings.templateSeconds);
      for (const drive of listDrives(guest.config)) {
        if (drive.isCdrom) continue;
        const vol = parseVolid(drive.volid);
        const store = vol && this.state.storageOn(node, vol.storage);
        if (!vol || !store || drive.isCloudinit) continue;
        const volume = store.volumes.get(vol.volname);
        const baseName = toBaseVolname(store.def, vol.volname);
        if (volume) {
          store.volumes.delete(vol.volname);
          store.volumes.set(baseName, { ...volume, volname: baseName });
        }
        guest.config[drive.key] = formatDrive(`${vol.storage}:${baseName}`, drive.options);
      }
      delete guest.config.lock;
      guest.config.template = '1';
    });
  }

  /** Start/stop/shutdown/reboot/reset/suspend/resume of a QEMU VM or container. */
  power(node: string, vmid: number, type: 'qemu' | 'lxc', action: string, user: string, options: { skiplock?: boolean; forceStop?: boolean; timeout?: number } = {}): SimTask {
    this.#checkNodeOnline(node);
    const guest = this.state.requireGuest(node, vmid, type);
    this.#checkLock(guest, options.skiplock);
    const prefix = type === 'qemu' ? 'qm' : 'vz';
    const t = this.state.timings;
    if (guest.config.template === '1' && action === 'start') throw die(`you can't start a vm if it's a template`);
    switch (action) {
      case 'start': {
        if (guest.status === 'running') throw die(`VM ${vmid} already running`);
        const host = this.state.nodes.get(node)!;
        if (this.state.usedMemory(node) + guestMemoryBytes(guest) > host.maxmem) throw die(`start failed: not enough memory on node '${node}'`);
        return this.state.tasks.start(node, `${prefix}start`, String(vmid), user, async (log) => {
          await this.#seconds(t.startSeconds);
          guest.status = 'running';
          guest.startedAt = this.state.time.now();
          guest.agentReadyAt = this.state.time.now() + t.agentBootSeconds * 1000;
          if (type === 'qemu') log(`generating cloud-init ISO`);
        });
      }
      case 'stop':
        return this.state.tasks.start(node, `${prefix}stop`, String(vmid), user, async () => {
          await this.#seconds(t.stopSeconds);
          this.#markStopped(guest);
        });
      case 'shutdown': {
        if (guest.status !== 'running') throw die(`VM ${vmid} not running`);
        return this.state.tasks.start(node, `${prefix}shutdown`, String(vmid), user, async () => {
          const limit = options.timeout ?? Infinity;
          if (t.shutdownSeconds > limit) {
            await this.#seconds(limit);
            if (!options.forceStop) throw new Error(`VM quit/powerdown failed - got timeout`);
          } else await this.#seconds(t.shutdownSeconds);
          this.#markStopped(guest);
        });
      }
      case 'reboot':
      case 'reset': {
        if (guest.status !== 'running') throw die(`VM ${vmid} not running`);
        return this.state.tasks.start(node, `${prefix}${action}`, String(vmid), user, async () => {
          await this.#seconds(action === 'reboot' ? t.shutdownSeconds + t.startSeconds : 0.5);
          guest.startedAt = this.state.time.now();
          guest.agentReadyAt = this.state.time.now() + t.agentBootSeconds * 1000;
        });
      }
      default:
        throw die(`pve-sim: power action '${action}' is not simulated`);
    }
  }

  #markStopped(guest: SimGuest): void {
    guest.status = 'stopped';
    delete guest.startedAt;
    delete guest.agentReadyAt;
  }

  /** `DELETE /nodes/{node}/{qemu|lxc}/{vmid}`. */
  destroy(node: string, vmid: number, type: 'qemu' | 'lxc', user: string, options: { skiplock?: boolean } = {}): SimTask {
    this.#checkNodeOnline(node);
    const guest = this.state.requireGuest(node, vmid, type);
    this.#checkLock(guest, options.skiplock);
    if (guest.status === 'running') throw die(`VM ${vmid} is running - destroy failed`);
    if (type === 'qemu' && guest.config.template === '1') {
      const bases = listDrives(guest.config).filter((d) => !d.isCdrom).map((d) => d.volid);
      for (const other of this.state.guests.values()) {
        if (other === guest) continue;
        const uses = listDrives(other.config).find((d) => bases.some((b) => d.volid.startsWith(`${b}/`)));
        if (uses) throw die(`base volume '${bases[0]}' is still in use by linked cloned VM ${other.vmid}`);
      }
    }
    guest.config.lock = 'destroyed';
    return this.state.tasks.start(node, `${type === 'qemu' ? 'qm' : 'vz'}destroy`, String(vmid), user, async () => {
      await this.#seconds(this.state.timings.destroySeconds);
      for (const drive of listDrives(guest.config)) {
        const vol = parseVolid(drive.volid);
        const store = vol && this.state.storageOn(node, vol.storage);
        if (vol && store) store.volumes.delete(vol.volname);
      }
      this.state.guests.delete(vmid);
    });
  }

  /** `POST /nodes/{node}/qemu` (create): allocates `STORAGE:SIZE` disks, copies the other options. */
  create(node: string, vmid: number, type: 'qemu' | 'lxc', params: Record<string, unknown>, user: string): SimTask {
    this.#checkNodeOnline(node);
    if (this.state.guests.has(vmid)) throw die(`unable to create VM ${vmid}: config file already exists`);
    const config: Record<string, string> = {};
    const allocations: Array<{ key: string; store: StorageInstance; size: number; options: Record<string, string>; cloudinit: boolean }> = [];
    for (const [key, value] of Object.entries(params)) {
      if (['node', 'vmid', 'start', 'pool', 'archive', 'force', 'unique', 'password'].includes(key)) continue;
      const text = String(value);
      if (isDriveKey(key)) {
        const drive = parseDrive(key, text);
        const m = /^([^:]+):(\d+(?:\.\d+)?|cloudinit)$/.exec(drive.volid);
        if (m && !drive.isCdrom) {
          const store = this.state.storageOn(node, m[1]!);
          if (!store) throw paramError({ [key]: `storage '${m[1]}' does not exist on node '${node}'` });
          allocations.push({ key, store, size: Number(m[2]) * 1024 ** 3, options: drive.options, cloudinit: false });
          continue;
        }
        if (m && m[2] === 'cloudinit') {
          const store = this.state.storageOn(node, m[1]!);
          if (!store) throw paramError({ [key]: `storage '${m[1]}' does not exist on node '${node}'` });
          allocations.push({ key, store, size: 4 * 1024 ** 2, options: { media: 'cdrom' }, cloudinit: true });
          continue;
        }
      }
      config[key] = typeof value === 'number' && key === 'template' ? String(value) : text;
    }
    const guest: SimGuest = { vmid, type, node, config: { ...config, lock: 'create' }, status: 'stopped', cpuLoad: 0.1 };
    if (typeof params.pool === 'string') guest.pool = params.pool;
    this.state.guests.set(vmid, guest);
    return this.state.tasks.start(node, type === 'qemu' ? 'qmcreate' : 'vzcreate', String(vmid), user, async () => {
      let index = 0;
      for (const a of allocations) {
        const volname = a.cloudinit ? cloudinitVolname(a.store.def, vmid) : diskVolname(a.store.def, vmid, index++);
        await this.#withStorageLock(a.store, () => undefined, this.state.timings.allocateSeconds, () => {
          a.store.volumes.set(volname, { volname, vmid, sizeBytes: a.size, usedBytes: a.store.def.type === 'lvm' ? a.size : 0 });
        });
        guest.config[a.key] = formatDrive(`${a.store.def.id}:${volname}`, a.cloudinit ? a.options : { ...a.options, size: formatSize(a.size) });
      }
      delete guest.config.lock;
    });
  }

  /** `PUT`/`POST …/config`: sets options, removes those in `delete`, refuses a locked VM. */
  updateConfig(node: string, vmid: number, type: 'qemu' | 'lxc', params: Record<string, unknown>): void {
    const guest = this.state.requireGuest(node, vmid, type);
    this.#checkLock(guest, params.skiplock === 1);
    for (const [key, value] of Object.entries(params)) {
      if (['node', 'vmid', 'delete', 'digest', 'skiplock', 'force', 'revert'].includes(key)) continue;
      guest.config[key] = String(value);
    }
    if (typeof params.delete === 'string') {
      for (const key of params.delete.split(/[,;\s]+/).filter(Boolean)) delete guest.config[key];
    }
  }
}

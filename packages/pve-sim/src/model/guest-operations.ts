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
  isBaseVolume,
  supportsLinkedClone,
  toBaseVolname,
} from './storage-naming.js';
import type { SimGuest, SimTask } from './types.js';
import { permissionDenied, type AccessControl } from './access-control.js';

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
  /** The share of clones whose worker loses the new VM's config lock to another client (0–1). */
  cloneRaceRate = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly random: () => number,
    private readonly access?: AccessControl,
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

  /**
   * `POST /nodes/{node}/qemu/{vmid}/clone`, after qemu-server `src/PVE/API2/Qemu.pm` `clone_vm`
   * (e6352be6): every check runs before the worker starts *and again inside it*, once the worker
   * holds the new VM's config lock (1 s timeout); only then is the temporary config written. So two
   * clones with one `newid` both get a UPID, and one fails as a task. With `target` the config
   * stays on the source node until the end.
   */
  clone(node: string, vmid: number, params: CloneParams, user: string): SimTask {
    this.#checkCloneRunsOnSourceNode(node, vmid);
    const checked = this.#loadAndCheckClone(node, vmid, params, user);
    const stuck = this.stuckClones > 0;
    if (stuck) this.stuckClones--;
    const raced = this.cloneRaceRate > 0 && this.random() < this.cloneRaceRate;
    const accepted = { sourceVmid: vmid, newid: params.newid, name: params.name ?? null, node: checked.targetNode, outcome: 'running' as 'running' | 'ok' | 'failed' };
    this.state.acceptedClones.push(accepted);
    const task = this.state.tasks.start(node, 'qmclone', String(vmid), user, async (log) => {
      await this.#seconds(this.state.timings.workerStartSeconds);
      const lock = this.state.configLock(params.newid);
      if (raced && !lock.busy) {
        // Another client's request holds lock-<newid>.conf a little longer than our 1 s timeout.
        void lock.acquire(0).then(async (release) => {
          await this.#seconds(1.5);
          release();
        });
      }
      let release: () => void;
      try {
        release = await lock.acquire(1000);
      } catch {
        throw new Error(`can't lock file '/var/lock/qemu-server/lock-${params.newid}.conf' - got timeout`);
      }
      try {
        const again = this.#loadAndCheckClone(node, vmid, params, user);
        log(`creating a clone of VM ${vmid} with ID ${params.newid}`);
        await this.#cloneWorker(log, again.source, node, again.targetNode, again.drives, again.full, params, stuck);
      } finally {
        release();
      }
    });
    void this.#whenDone(task).then((ok) => (accepted.outcome = ok ? 'ok' : 'failed'));
    return task;
  }

  async #whenDone(task: SimTask): Promise<boolean> {
    while (task.status === 'running') await this.state.time.sleep(100);
    return task.exitstatus === 'OK';
  }

  /** `check_running` loads the config from the node the request went to (qemu-server `QemuConfig.pm` assert_config_exists_on_node). */
  #checkCloneRunsOnSourceNode(node: string, vmid: number): void {
    const guest = this.state.guests.get(vmid);
    if (!guest || guest.node !== node || guest.type !== 'qemu') throw die(`unable to find configuration file for VM ${vmid} on node '${node}'`);
  }

  /** `$load_and_check` of clone_vm: pool, target, storage, source lock, clone features, permissions, the new config file. */
  #loadAndCheckClone(node: string, vmid: number, params: CloneParams, user: string) {
    if (params.pool !== undefined && !this.state.pools.has(params.pool)) throw permissionDenied(`pool '${params.pool}' does not exist`);
    let target = params.target;
    if (target === node) target = undefined;
    if (target !== undefined) {
      const t = this.state.nodes.get(target);
      if (!t) throw paramError({ target: `no such cluster node '${target}'` });
      if (!t.online) throw die(`target node '${target}' is not online`);
    }
    const source = this.state.requireGuest(node, vmid, 'qemu');
    const isTemplate = source.config.template === '1';
    this.#checkLock(source);
    const full = params.full ?? !isTemplate;
    if (params.storage !== undefined && !full) throw die(`parameter 'storage' not allowed for linked clones`);
    if (params.format !== undefined && !full) throw die(`parameter 'format' not allowed for linked clones`);
    const drives = listDrives(source.config).filter((d) => !d.isCdrom || d.isCloudinit);
    let sharedOnly = true;
    for (const drive of drives) {
      const vol = parseVolid(drive.volid);
      const store = vol && this.state.storageDefs.get(vol.storage);
      if (!store?.shared) sharedOnly = false;
      // check_storage_access_clone: Datastore.AllocateSpace on every disk's (target) storage; cloud-init is a CD-ROM there.
      if (vol && !drive.isCloudinit) this.access?.check(user, `/storage/${params.storage ?? vol.storage}`, ['Datastore.AllocateSpace']);
    }
    // check_bridge_access: SDN.Use on every bridge, skipped only for exactly root@pam (not its tokens).
    if (user !== 'root@pam') {
      for (const key of Object.keys(source.config).filter((k) => /^net\d+$/.test(k)).sort()) {
        const bridge = /(?:^|,)bridge=([^,]+)/.exec(source.config[key]!)?.[1];
        const tag = /(?:^|,)tag=(\d+)/.exec(source.config[key]!)?.[1];
        if (bridge) this.access?.check(user, `/sdn/zones/localnetwork/${bridge}${tag ? `/${tag}` : ''}`, ['SDN.Use'], true);
      }
    }
    for (const drive of drives) {
      const vol = parseVolid(drive.volid);
      const store = vol && this.state.storageDefs.get(vol.storage);
      // PVE's 'clone' storage feature needs a base (template) volume on a storage that can link to it.
      if (!full && !drive.isCloudinit && store && (!isTemplate || !supportsLinkedClone(store) || !isBaseVolume(vol.volname))) {
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
      throw die(existing.node === node || existing.node === targetNode
        ? `unable to create VM ${params.newid}: config file already exists`
        : `unable to create VM ${params.newid}: VM ${params.newid} already exists on node '${existing.node}'`);
    }
    return { source, full, drives, targetNode };
  }

  async #cloneWorker(log: (l: string) => void, source: SimGuest, node: string, targetNode: string, drives: DriveInfo[], full: boolean, params: CloneParams, stuck: boolean): Promise<void> {
    // The temporary config (`# qmclone temporary file` + `lock: clone`), on the node the clone runs on.
    const guest: SimGuest = { vmid: params.newid, type: 'qemu', node, config: { lock: 'clone' }, status: 'stopped', cpuLoad: 0.1, createdAt: this.state.time.now() };
    this.state.guests.set(params.newid, guest);
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
        const store = this.state.storageOn(targetNode, storeId);
        if (!store) throw new Error(`storage '${storeId}' is not available on node '${targetNode}'`);
        const srcVolume = srcStore.volumes.get(vol.volname);
        const size = srcVolume?.sizeBytes ?? parseSize(drive.options.size ?? '0');
        const linked = !full && !drive.isCloudinit;
        let volname: string;
        if (drive.isCloudinit) {
          volname = cloudinitVolname(store.def, guest.vmid);
          log(`create full clone of drive ${drive.key} (${drive.volid})`);
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
          // qemu-img's progress starts with a 0 % line (BEHAVIOURS.md §I.30).
          log(`transferred ${formatBytesHuman(0)} of ${formatBytesHuman(size)} (0.00%)`);
          let lastLogged = 0;
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
      if (stuck) {
        guest.node = targetNode;
        return; // the scripted fault: the lock stays although the task reports OK
      }
      guest.config = { ...base, ...finished };
      // The config moves to the target node last; the pool membership is added after that.
      guest.node = targetNode;
      if (params.pool) guest.pool = params.pool;
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

  /**
   * `POST /nodes/{node}/qemu/{vmid}/template`, in qemu-server's order (`template_create`): the
   * config gets `template: 1` first, then each disk is renamed to its `base-…` name; no `lock` is
   * set. A linked clone sent inside that window finds a template whose disk is not a base volume
   * yet and is refused with `Linked clone feature is not supported for '<volid>'`.
   */
  convertToTemplate(node: string, vmid: number, user: string): SimTask {
    const guest = this.state.requireGuest(node, vmid, 'qemu');
    this.#checkLock(guest);
    if (guest.config.template === '1') throw die(`you can't convert a template to a template`);
    if (guest.status === 'running') throw die(`you can't convert a VM to template if VM is running`);
    return this.state.tasks.start(node, 'qmtemplate', String(vmid), user, async () => {
      guest.config.template = '1';
      const disks = listDrives(guest.config).filter((d) => !d.isCdrom && !d.isCloudinit);
      for (const drive of disks) {
        await this.#seconds(this.state.timings.templateSeconds / Math.max(1, disks.length));
        const vol = parseVolid(drive.volid);
        const store = vol && this.state.storageOn(guest.node, vol.storage);
        if (!vol || !store) continue;
        const volume = store.volumes.get(vol.volname);
        const baseName = toBaseVolname(store.def, vol.volname);
        if (volume) {
          store.volumes.delete(vol.volname);
          store.volumes.set(baseName, { ...volume, volname: baseName });
        }
        guest.config[drive.key] = formatDrive(`${vol.storage}:${baseName}`, drive.options);
      }
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
    // VM.Allocate on /vms/{vmid} or on the pool (qemu-server create_vm).
    if (this.access && !(typeof params.pool === 'string' && this.access.has(user, `/pool/${params.pool}`, ['VM.Allocate']))) this.access.check(user, `/vms/${vmid}`, ['VM.Allocate']);
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
    const guest: SimGuest = { vmid, type, node, config: { ...config, lock: 'create' }, status: 'stopped', cpuLoad: 0.1, createdAt: this.state.time.now() };
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

import { checkBridgeAccess } from './bridge-access.js';
import { die, paramError } from '../sim-error.js';
import type { ClusterState, StorageInstance } from './cluster-state.js';
import { formatDrive, isDriveKey, listDrives, type DriveInfo } from './drives.js';
import { checkLock } from './guest-guards.js';
import { withStorageLock } from './storage-lock.js';
import { freeVolume } from './thin-pool.js';
import { cloneName, renewIdentity } from './guest-identity.js';
import {
  cloudinitVolname,
  diskVolname,
  formatBytesHuman,
  linkedVolname,
  parseSize,
  parseVolid,
  isBaseVolume,
  supportsLinkedClone,
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

/** Copies of a VM's disks to a new VM (clone) or to another node (migrate), with PVE's checks, locks, timings and errors. */
export class GuestCopying {
  /**
   * The next N clones end their task with `TASK OK` but keep `lock: clone` on the new VM forever
   * (a fault scripted by tests: the task says done, the VM is not).
   */
  stuckClones = 0;
  /** The share of clones whose worker loses the new VM's config lock to another client (0–1). */
  cloneRaceRate = 0;
  /**
   * The share of clones whose new VMID another client takes on another node between the early
   * check and the worker's config write (0–1): the task fails with pmxcfs's `File exists`.
   */
  crossNodeVmidRaceRate = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly random: () => number,
    private readonly access?: AccessControl,
  ) {}

  #seconds(s: number): Promise<void> {
    return this.state.time.sleep(s * 1000);
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
    const crossNodeRaced = this.crossNodeVmidRaceRate > 0 && this.random() < this.crossNodeVmidRaceRate;
    const accepted = {
      sourceVmid: vmid,
      newid: params.newid,
      name: params.name ?? null,
      node: checked.targetNode,
      outcome: 'running' as 'running' | 'ok' | 'failed',
    };
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
        if (crossNodeRaced) this.#takeVmidOnAnotherNode(node, params.newid);
        this.#writeTemporaryConfig(node, params.newid);
        await this.#cloneWorker(log, again.source, node, again.targetNode, again.drives, again.full, params, stuck);
      } finally {
        release();
      }
    });
    void this.#whenDone(task).then((ok) => (accepted.outcome = ok ? 'ok' : 'failed'));
    return task;
  }

  /** Another client creates VM `newid` on a node other than `node` (a VMID race across nodes). */
  #takeVmidOnAnotherNode(node: string, newid: number): void {
    const other = [...this.state.nodes.values()].find((n) => n.name !== node && n.online);
    if (!other || this.state.guests.has(newid)) return;
    this.state.guests.set(newid, {
      vmid: newid,
      type: 'qemu',
      node: other.name,
      config: { name: `other-client-${newid}`, memory: '2048', cores: '1', ostype: 'l26' },
      status: 'stopped',
      cpuLoad: 0.1,
      createdAt: this.state.time.now(),
    });
  }

  /**
   * The worker writes `# qmclone temporary file` with `PVE::Tools::file_set_contents` before its
   * `eval` (so no `clone failed:` prefix): the early check saw only the local node's config file,
   * and pmxcfs refuses the rename when the VMID exists on another node (`memdb_rename`, -EEXIST).
   */
  #writeTemporaryConfig(node: string, newid: number): void {
    const existing = this.state.guests.get(newid);
    if (existing && existing.node !== node)
      throw new Error(
        `close (rename) atomic file '/etc/pve/nodes/${node}/qemu-server/${newid}.conf' failed: File exists`,
      );
  }

  async #whenDone(task: SimTask): Promise<boolean> {
    while (task.status === 'running') await this.state.time.sleep(100);
    return task.exitstatus === 'OK';
  }

  /** `check_running` loads the config from the node the request went to (qemu-server `QemuConfig.pm` assert_config_exists_on_node). */
  #checkCloneRunsOnSourceNode(node: string, vmid: number): void {
    const guest = this.state.guests.get(vmid);
    if (!guest || guest.node !== node || guest.type !== 'qemu')
      throw die(`unable to find configuration file for VM ${vmid} on node '${node}'`);
  }

  /** `$load_and_check` of clone_vm: pool, target, storage, source lock, clone features, permissions, the new config file. */
  #loadAndCheckClone(node: string, vmid: number, params: CloneParams, user: string) {
    if (params.pool !== undefined && !this.state.pools.has(params.pool))
      throw permissionDenied(`pool '${params.pool}' does not exist`);
    let target = params.target;
    if (target === node) target = undefined;
    if (target !== undefined) {
      const t = this.state.nodes.get(target);
      if (!t) throw paramError({ target: `no such cluster node '${target}'` });
      if (!t.online) throw die(`target node '${target}' is not online`);
    }
    if (params.storage !== undefined && target !== undefined) {
      // storage_check_enabled on the target node, then "clone only works if target storage is shared".
      if (!this.state.storageOn(target, params.storage))
        throw die(`storage '${params.storage}' is not available on node '${target}'`);
      if (!this.state.storageDefs.get(params.storage)?.shared)
        throw die(`can't clone to non-shared storage '${params.storage}'`);
    }
    const source = this.state.requireGuest(node, vmid, 'qemu');
    const isTemplate = source.config.template === '1';
    checkLock(source);
    const full = params.full ?? !isTemplate;
    if (params.storage !== undefined && !full) throw die(`parameter 'storage' not allowed for linked clones`);
    if (params.format !== undefined && !full) throw die(`parameter 'format' not allowed for linked clones`);
    const drives = listDrives(source.config).filter((d) => !d.isCdrom || d.isCloudinit);
    // check_storage_access_clone: every volume counts for `sharedvm`, CD-ROM images too.
    const sharedOnly = listDrives(source.config).every((d) => {
      const vol = parseVolid(d.volid);
      return !vol || this.state.storageDefs.get(vol.storage)?.shared === true;
    });
    for (const drive of drives) {
      const vol = parseVolid(drive.volid);
      // check_storage_access_clone: Datastore.AllocateSpace on every disk's (target) storage; cloud-init is a CD-ROM there.
      if (vol && !drive.isCloudinit)
        this.access?.check(user, `/storage/${params.storage ?? vol.storage}`, ['Datastore.AllocateSpace']);
    }
    // check_bridge_access on the source config: SDN.Use on every bridge (the VNet's zone, or localnetwork).
    checkBridgeAccess(this.access, this.state.sdn, user, source.config);
    for (const drive of drives) {
      const vol = parseVolid(drive.volid);
      const store = vol && this.state.storageDefs.get(vol.storage);
      // PVE's 'clone' storage feature needs a base (template) volume on a storage that can link to it.
      if (
        !full &&
        !drive.isCloudinit &&
        store &&
        (!isTemplate || !supportsLinkedClone(store, vol.volname) || !isBaseVolume(vol.volname))
      ) {
        throw die(`Linked clone feature is not supported for '${drive.volid}' (${drive.key})`);
      }
    }
    if (target !== undefined && !sharedOnly) throw die(`can't clone VM to node '${target}' (VM uses local storage)`);
    const targetNode = target ?? node;
    if (params.storage !== undefined && !this.state.storageOn(targetNode, params.storage)) {
      throw die(`storage '${params.storage}' is not available on node '${targetNode}'`);
    }
    // `-f $conffile` sees only this node's config files; a VMID on another node passes here.
    if (this.state.guests.get(params.newid)?.node === node)
      throw die(`unable to create VM ${params.newid}: config file already exists`);
    return { source, full, drives, targetNode };
  }

  async #cloneWorker(
    log: (l: string) => void,
    source: SimGuest,
    node: string,
    targetNode: string,
    drives: DriveInfo[],
    full: boolean,
    params: CloneParams,
    stuck: boolean,
  ): Promise<void> {
    // The temporary config (`# qmclone temporary file` + `lock: clone`), on the node the clone runs on.
    const guest: SimGuest = {
      vmid: params.newid,
      type: 'qemu',
      node,
      config: { lock: 'clone' },
      status: 'stopped',
      cpuLoad: 0.1,
      createdAt: this.state.time.now(),
    };
    this.state.guests.set(params.newid, guest);
    const created: Array<{ store: StorageInstance; volname: string }> = [];
    const base: Record<string, string> = {};
    for (const [key, value] of Object.entries(source.config)) {
      if (isDriveKey(key) || key === 'template' || key === 'lock' || key.startsWith('unused') || key === 'digest')
        continue;
      base[key] = value;
    }
    renewIdentity(base, this.random);
    base.name = cloneName(source, params.name);
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
        await withStorageLock(
          this.state,
          store,
          log,
          linked ? this.state.timings.linkedCloneSeconds : this.state.timings.allocateSeconds,
          () => {
            store.volumes.set(volname, {
              volname,
              vmid: guest.vmid,
              sizeBytes: size,
              usedBytes: linked ? Math.min(size, 64 * 1024 ** 2) : size,
              ...(linked && store.def.type === 'lvmthin' ? { thinOrigin: vol.volname } : {}),
            });
            created.push({ store, volname });
          },
        );
        if (!linked && !drive.isCloudinit) {
          // qemu-img's progress starts with a 0 % line (pve-sim `BEHAVIOURS.md` §I.30).
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
      for (const { store, volname } of created) freeVolume(store, volname);
      this.state.guests.delete(guest.vmid);
      throw new Error(`clone failed: ${(err as Error).message}`);
    }
  }
}

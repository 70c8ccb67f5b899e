import { die, paramError } from '../sim-error.js';
import { guestMemoryBytes, type ClusterState, type StorageInstance } from './cluster-state.js';
import { formatDrive, isDriveKey, listDrives, parseDrive } from './drives.js';
import { checkLock, checkNodeOnline } from './guest-guards.js';
import { applyCreateDefaults } from './create-defaults.js';
import { withStorageLock } from './storage-lock.js';
import { shutdownGuest } from './guest-shutdown.js';
import { uniqueTags } from './guest-tags.js';
import { pveVersionAtLeast } from '../pve-version.js';
import {
  cloudinitVolname,
  diskVolname,
  formatSize,
  isBaseVolume,
  parseVolid,
  toBaseVolname,
  volnameBase,
} from './storage-naming.js';
import { freeVolume } from './thin-pool.js';
import type { SimGuest, SimTask } from './types.js';
import { checkBridgeAccess, parseNetBridge } from './bridge-access.js';
import type { AccessControl } from './access-control.js';

/** A guest's life from create to destroy: create, config updates, conversion to a template, power actions, destroy. */
export class GuestLifecycle {
  constructor(
    private readonly state: ClusterState,
    private readonly access?: AccessControl,
    private readonly random: () => number = Math.random,
    private readonly pveVersion = '9.1.3',
  ) {}

  #seconds(s: number): Promise<void> {
    return this.state.time.sleep(s * 1000);
  }

  /**
   * `POST /nodes/{node}/qemu/{vmid}/template`, in qemu-server's order (`template_create`): the
   * config gets `template: 1` first, then each disk is renamed to its `base-…` name; no `lock` is
   * set. A linked clone sent inside that window finds a template whose disk is not a base volume
   * yet and is refused with `Linked clone feature is not supported for '<volid>'`.
   */
  convertToTemplate(node: string, vmid: number, user: string): SimTask {
    const guest = this.state.requireGuest(node, vmid, 'qemu');
    checkLock(guest);
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

  /**
   * Start/stop/shutdown/reboot/reset of a QEMU VM or container. For QEMU the handlers of qemu-server
   * `src/PVE/API2/Qemu.pm` fork their worker at once; `PVE::QemuServer::vm_start` then checks the
   * template, the lock and "already running" under the config lock, and QEMU itself fails when the
   * node has no memory left; `vm_stop` (stop, shutdown) returns at once when the VM is not running
   * (a task that ends OK) and checks the lock only then. Reboot and reset refuse a stopped VM early.
   */
  power(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    action: string,
    user: string,
    options: { skiplock?: boolean; forceStop?: boolean; timeout?: number } = {},
  ): SimTask {
    checkNodeOnline(this.state, node);
    const guest = this.state.requireGuest(node, vmid, type);
    const prefix = type === 'qemu' ? 'qm' : 'vz';
    const t = this.state.timings;
    // Containers keep the early checks (pve-container is not modelled in detail).
    const early = type === 'lxc';
    const checkLockNow = (): void => checkLock(guest, options.skiplock);
    if (early) checkLockNow();
    switch (action) {
      case 'start': {
        const checkStart = (): void => {
          if (guest.config.template === '1') throw die(`you can't start a vm if it's a template`);
          checkLockNow();
          if (guest.status === 'running') throw die(`VM ${vmid} already running`);
        };
        if (early) checkStart();
        return this.state.tasks.start(node, `${prefix}start`, String(vmid), user, async (log) => {
          checkStart();
          if (type === 'qemu') this.#plugNics(guest, log);
          const host = this.state.nodes.get(node)!;
          if (this.state.usedMemory(node) + guestMemoryBytes(guest) > host.maxmem) {
            log(`kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory`);
            throw new Error(`start failed: QEMU exited with code 1`);
          }
          await this.#seconds(t.startSeconds);
          guest.status = 'running';
          guest.startedAt = this.state.time.now();
          guest.agentReadyAt = this.state.time.now() + t.agentBootSeconds * 1000;
          if (type === 'qemu') log(`generating cloud-init ISO`);
        });
      }
      case 'stop':
        return this.state.tasks.start(node, `${prefix}stop`, String(vmid), user, async () => {
          if (guest.status !== 'running') return;
          checkLockNow();
          await this.#seconds(t.stopSeconds);
          this.#markStopped(guest);
        });
      case 'shutdown': {
        if (early && guest.status !== 'running') throw die(`VM ${vmid} not running`);
        return this.state.tasks.start(node, `${prefix}shutdown`, String(vmid), user, async (log) => {
          if (guest.status !== 'running') return;
          checkLockNow();
          await shutdownGuest(this.state, guest, options, log, () => this.#markStopped(guest), this.random);
        });
      }
      case 'reboot':
      case 'reset': {
        if (guest.status !== 'running') throw die(`VM ${vmid} not running`);
        return this.state.tasks.start(node, `${prefix}${action}`, String(vmid), user, async () => {
          checkLockNow();
          await this.#seconds(action === 'reboot' ? t.shutdownSeconds + t.startSeconds : 0.5);
          guest.startedAt = this.state.time.now();
          guest.agentReadyAt = this.state.time.now() + t.agentBootSeconds * 1000;
        });
      }
      default:
        throw die(`pve-sim: power action '${action}' is not simulated`);
    }
  }

  /**
   * QEMU runs qemu-server's `pve-bridge` script for each NIC (`src/usr/pve-bridge` →
   * pve-network `PVE::Network::SDN::Zones::tap_create` → pve-common `src/PVE/Network.pm`
   * `read_bridge_mtu`): a bridge that is neither a node bridge nor a VNet an apply created on this
   * node fails with `bridge '<bridge>' does not exist`, and QEMU exits before the guest starts.
   */
  #plugNics(guest: SimGuest, log: (line: string) => void): void {
    const dir = pveVersionAtLeast(this.state.pveVersion, 9, 0) ? '/usr/libexec/qemu-server' : '/var/lib/qemu-server';
    for (const key of Object.keys(guest.config)
      .filter((k) => /^net\d+$/.test(k))
      .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))) {
      const { bridge } = parseNetBridge(guest.config[key]!);
      if (bridge === undefined || this.state.bridgeExists(guest.node, bridge)) continue;
      const n = key.slice(3);
      log(`bridge '${bridge}' does not exist`);
      log(
        `kvm: -netdev type=tap,id=${key},ifname=tap${guest.vmid}i${n},script=${dir}/pve-bridge,downscript=${dir}/pve-bridgedown,vhost=on: network script ${dir}/pve-bridge failed with status 512`,
      );
      throw new Error('start failed: QEMU exited with code 1');
    }
  }

  #markStopped(guest: SimGuest): void {
    guest.status = 'stopped';
    delete guest.startedAt;
    delete guest.agentReadyAt;
    delete guest.loggedIn;
  }

  /**
   * `DELETE /nodes/{node}/{qemu|lxc}/{vmid}`, after qemu-server `src/PVE/API2/Qemu.pm` `destroy_vm`:
   * only the early checks (the config exists, the VM is not running) answer at once; the worker
   * repeats them under the config lock and `PVE::QemuServer::destroy_vm` then checks the lock
   * (`VM is locked (…)`) and, for a template, every base volume a linked clone still uses
   * (`base volume '<volid>' is still in use by linked cloned`), so those end the task. On lvm-thin
   * no clone is seen (its volume id names no base), so the base goes and its thin clones stay
   * (BEHAVIOURS.md §T1).
   */
  destroy(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    user: string,
    options: { skiplock?: boolean } = {},
  ): SimTask {
    checkNodeOnline(this.state, node);
    const early = (): SimGuest => {
      const guest = this.state.requireGuest(node, vmid, type);
      if (guest.status === 'running') throw die(`VM ${vmid} is running - destroy failed`);
      return guest;
    };
    early();
    return this.state.tasks.start(node, `${type === 'qemu' ? 'qm' : 'vz'}destroy`, String(vmid), user, async () => {
      const guest = early();
      checkLock(guest, options.skiplock);
      if (type === 'qemu' && guest.config.template === '1') this.#checkBasesUnused(guest);
      guest.config.lock = 'destroyed';
      await this.#seconds(this.state.timings.destroySeconds);
      for (const drive of listDrives(guest.config)) {
        const vol = parseVolid(drive.volid);
        const store = vol && this.state.storageOn(node, vol.storage);
        if (vol && store) freeVolume(store, vol.volname);
      }
      this.state.guests.delete(vmid);
    });
  }

  /**
   * pve-storage `src/PVE/Storage.pm` `volume_is_base_and_used` for each of a template's drives but
   * CD-ROMs: a base volume is used when the storage lists a volume whose
   * `parse_volname` names it as its base (same base name and VMID). lvm-thin volume names never do,
   * so there the check never refuses (the NOTE above `volume_is_base_and_used`).
   */
  #checkBasesUnused(template: SimGuest): void {
    for (const drive of listDrives(template.config).filter((d) => !d.isCdrom)) {
      const vol = parseVolid(drive.volid);
      const store = vol && this.state.storageOn(template.node, vol.storage);
      if (!vol || !store || !isBaseVolume(vol.volname)) continue;
      const name = vol.volname.split('/').at(-1)!;
      for (const other of store.volumes.keys()) {
        const base = volnameBase(store.def, other);
        if (base && base.vmid === template.vmid && base.name === name)
          throw new Error(`base volume '${drive.volid}' is still in use by linked cloned`);
      }
    }
  }

  /** `POST /nodes/{node}/qemu` (create): allocates `STORAGE:SIZE` disks, copies the other options. */
  create(node: string, vmid: number, type: 'qemu' | 'lxc', params: Record<string, unknown>, user: string): SimTask {
    checkNodeOnline(this.state, node);
    // VM.Allocate on /vms/{vmid} or on the pool (qemu-server create_vm).
    if (
      this.access &&
      !(typeof params.pool === 'string' && this.access.has(user, `/pool/${params.pool}`, ['VM.Allocate']))
    )
      this.access.check(user, `/vms/${vmid}`, ['VM.Allocate']);
    // qemu-server `create_vm`: check_bridge_access on the new config's NICs.
    if (type === 'qemu') checkBridgeAccess(this.access, this.state.sdn, user, params);
    // pve-guest-common `create_and_lock_config` → pve-cluster `check_vmid_unused`, before the worker.
    const existing = this.state.guests.get(vmid);
    if (existing) {
      const what = type === 'qemu' ? 'VM' : 'CT';
      throw die(
        `unable to create ${what} ${vmid} - ${existing.type === 'qemu' ? 'VM' : 'CT'} ${vmid} already exists on node '${existing.node}'`,
      );
    }
    const config: Record<string, string> = {};
    const allocations: Array<{
      key: string;
      store: StorageInstance;
      size: number;
      options: Record<string, string>;
      cloudinit: boolean;
    }> = [];
    for (const [key, value] of Object.entries(params)) {
      if (['node', 'vmid', 'start', 'pool', 'archive', 'force', 'unique', 'password'].includes(key)) continue;
      const text = String(value);
      if (isDriveKey(key)) {
        const drive = parseDrive(key, text);
        const m = /^([^:]+):(\d+(?:\.\d+)?|cloudinit)$/.exec(drive.volid);
        if (m && !drive.isCdrom && m[2] !== 'cloudinit') {
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
    const guest: SimGuest = {
      vmid,
      type,
      node,
      config: { ...config, lock: 'create' },
      status: 'stopped',
      cpuLoad: 0.1,
      createdAt: this.state.time.now(),
    };
    if (typeof params.pool === 'string') guest.pool = params.pool;
    this.state.guests.set(vmid, guest);
    return this.state.tasks.start(node, type === 'qemu' ? 'qmcreate' : 'vzcreate', String(vmid), user, async () => {
      if (type === 'qemu' && config.tags !== undefined) {
        // qemu-server `create_vm` (a929b3e0, 9.2): assert_tag_permissions in the worker, then get_unique_tags.
        if (pveVersionAtLeast(this.state.pveVersion, 9, 2) && this.access)
          try {
            this.access.check(user, `/vms/${vmid}`, ['VM.Config.Options']);
          } catch (error) {
            this.state.guests.delete(vmid);
            throw new Error(`unable to create VM ${vmid} - ${(error as Error).message}`);
          }
        guest.config.tags = uniqueTags(config.tags);
      }
      let index = 0;
      for (const a of allocations) {
        const volname = a.cloudinit ? cloudinitVolname(a.store.def, vmid) : diskVolname(a.store.def, vmid, index++);
        await withStorageLock(
          this.state,
          a.store,
          () => undefined,
          this.state.timings.allocateSeconds,
          () => {
            a.store.volumes.set(volname, {
              volname,
              vmid,
              sizeBytes: a.size,
              usedBytes: a.store.def.type === 'lvm' ? a.size : 0,
            });
          },
        );
        guest.config[a.key] = formatDrive(
          `${a.store.def.id}:${volname}`,
          a.cloudinit ? a.options : { ...a.options, size: formatSize(a.size) },
        );
      }
      if (type === 'qemu')
        applyCreateDefaults(guest.config, {
          random: this.random,
          nowSeconds: this.state.time.nowSeconds(),
          pveVersion: this.pveVersion,
        });
      delete guest.config.lock;
    });
  }

  /** `PUT`/`POST …/config`: sets options, removes those in `delete`, refuses a locked VM. */
  updateConfig(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    params: Record<string, unknown>,
    user = 'root@pam',
  ): void {
    // qemu-server `update_vm_api`: check_bridge_access on the new values first, then, for each
    // NIC set or deleted, on the value it replaces.
    if (type === 'qemu') checkBridgeAccess(this.access, this.state.sdn, user, params);
    const guest = this.state.requireGuest(node, vmid, type);
    if (type === 'qemu') {
      const touched = [
        ...Object.keys(params),
        ...(typeof params.delete === 'string' ? params.delete.split(/[,;\s]+/) : []),
      ];
      for (const key of touched.filter((k) => /^net\d+$/.test(k)).sort())
        if (guest.config[key]) checkBridgeAccess(this.access, this.state.sdn, user, { [key]: guest.config[key] });
    }
    checkLock(guest, params.skiplock === 1);
    for (const [key, value] of Object.entries(params)) {
      if (['node', 'vmid', 'delete', 'digest', 'skiplock', 'force', 'revert'].includes(key)) continue;
      // qemu-server `update_vm_api`: tags go through get_unique_tags (pve-guest-common `GuestHelpers.pm`).
      guest.config[key] = key === 'tags' ? uniqueTags(String(value)) : String(value);
    }
    if (typeof params.delete === 'string') {
      for (const key of params.delete.split(/[,;\s]+/).filter(Boolean)) delete guest.config[key];
    }
  }
}

import { die, paramError } from '../sim-error.js';
import { guestMemoryBytes, type ClusterState, type StorageInstance } from './cluster-state.js';
import { formatDrive, isDriveKey, listDrives, parseDrive } from './drives.js';
import { checkLock, checkNodeOnline } from './guest-guards.js';
import { withStorageLock } from './storage-lock.js';
import { cloudinitVolname, diskVolname, formatSize, parseVolid, toBaseVolname } from './storage-naming.js';
import type { SimGuest, SimTask } from './types.js';
import type { AccessControl } from './access-control.js';

/** A guest's life from create to destroy: create, config updates, conversion to a template, power actions, destroy. */
export class GuestLifecycle {
  constructor(
    private readonly state: ClusterState,
    private readonly access?: AccessControl,
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

  /** Start/stop/shutdown/reboot/reset/suspend/resume of a QEMU VM or container. */
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
    checkLock(guest, options.skiplock);
    const prefix = type === 'qemu' ? 'qm' : 'vz';
    const t = this.state.timings;
    if (guest.config.template === '1' && action === 'start') throw die(`you can't start a vm if it's a template`);
    switch (action) {
      case 'start': {
        if (guest.status === 'running') throw die(`VM ${vmid} already running`);
        const host = this.state.nodes.get(node)!;
        if (this.state.usedMemory(node) + guestMemoryBytes(guest) > host.maxmem)
          throw die(`start failed: not enough memory on node '${node}'`);
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
    delete guest.loggedIn;
  }

  /** `DELETE /nodes/{node}/{qemu|lxc}/{vmid}`. */
  destroy(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    user: string,
    options: { skiplock?: boolean } = {},
  ): SimTask {
    checkNodeOnline(this.state, node);
    const guest = this.state.requireGuest(node, vmid, type);
    checkLock(guest, options.skiplock);
    if (guest.status === 'running') throw die(`VM ${vmid} is running - destroy failed`);
    if (type === 'qemu' && guest.config.template === '1') {
      const bases = listDrives(guest.config)
        .filter((d) => !d.isCdrom)
        .map((d) => d.volid);
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
    checkNodeOnline(this.state, node);
    // VM.Allocate on /vms/{vmid} or on the pool (qemu-server create_vm).
    if (
      this.access &&
      !(typeof params.pool === 'string' && this.access.has(user, `/pool/${params.pool}`, ['VM.Allocate']))
    )
      this.access.check(user, `/vms/${vmid}`, ['VM.Allocate']);
    if (this.state.guests.has(vmid)) throw die(`unable to create VM ${vmid}: config file already exists`);
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
      delete guest.config.lock;
    });
  }

  /** `PUT`/`POST …/config`: sets options, removes those in `delete`, refuses a locked VM. */
  updateConfig(node: string, vmid: number, type: 'qemu' | 'lxc', params: Record<string, unknown>): void {
    const guest = this.state.requireGuest(node, vmid, type);
    checkLock(guest, params.skiplock === 1);
    for (const [key, value] of Object.entries(params)) {
      if (['node', 'vmid', 'delete', 'digest', 'skiplock', 'force', 'revert'].includes(key)) continue;
      guest.config[key] = String(value);
    }
    if (typeof params.delete === 'string') {
      for (const key of params.delete.split(/[,;\s]+/).filter(Boolean)) delete guest.config[key];
    }
  }
}

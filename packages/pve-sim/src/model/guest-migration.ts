import { die, paramError } from '../sim-error.js';
import type { ClusterState, StorageInstance } from './cluster-state.js';
import { listDrives, type DriveInfo } from './drives.js';
import { checkLock, checkNodeOnline } from './guest-guards.js';
import { formatBytesHuman, parseVolid, volnameBase } from './storage-naming.js';
import { freeVolume } from './thin-pool.js';
import type { SimStorageDef, SimTask, SimVolume } from './types.js';

/** Parameters of a migration request, already type-checked against the schema. */
export interface MigrateParams {
  target: string;
  online?: boolean;
  targetstorage?: string;
  withLocalDisks?: boolean;
}

/** Local storage types QemuMigrate can copy (`scan_local_volumes`). */
const MIGRATABLE_TYPES = new Set(['dir', 'btrfs', 'zfspool', 'lvmthin', 'lvm']);

/** The base image a linked clone's volume name points at (`parse_volname`'s `$basename`), if any. */
export function linkedCloneBase(store: SimStorageDef, volname: string): string | undefined {
  return volnameBase(store, volname)?.name;
}

/** A migrated volume is a full copy on the target: a thin snapshot takes the blocks it shared with its base too. */
function fullCopyOf(from: StorageInstance, volume: SimVolume): SimVolume {
  const { thinOrigin, ...copy } = volume;
  if (thinOrigin === undefined) return copy;
  const shared = from.volumes.get(thinOrigin)?.usedBytes ?? from.retained.get(thinOrigin)?.bytes ?? 0;
  return { ...copy, usedBytes: Math.min(copy.sizeBytes, copy.usedBytes + shared) };
}

/** A local volume QemuMigrate found, as `scan_local_volumes` classifies it. */
interface LocalVolume {
  drive: DriveInfo;
  volid: string;
  from: StorageInstance;
  to: StorageInstance;
  volname: string;
  ref: 'attached' | 'generated';
}

/**
 * `POST /nodes/{node}/qemu/{vmid}/migrate`, after qemu-server `src/PVE/API2/Qemu.pm` `migrate_vm`
 * and `src/PVE/QemuMigrate.pm`: the API checks the lock, `--online` for a running VM and the
 * storages on the target at once; everything else happens in the worker (`phase1` →
 * `scan_local_volumes`): a running VM's attached local disks need `with-local-disks`, local storage
 * must be of a type QemuMigrate copies, and a linked clone on local storage cannot move. A
 * failure there is logged (`ERROR: …`, `aborting phase 1 - cleanup resources`,
 * `migration aborted (duration …): …`) and the task ends `migration aborted` (pve-guest-common
 * `src/PVE/AbstractMigrate.pm` `migrate`). Local disks are copied to the same storage id (or
 * `targetstorage`) over the network model, then the VM moves.
 */
export function migrateGuest(
  state: ClusterState,
  node: string,
  vmid: number,
  params: MigrateParams,
  user: string,
): SimTask {
  checkNodeOnline(state, node);
  const guest = state.requireGuest(node, vmid, 'qemu');
  checkLock(guest);
  if (params.target === node) throw die(`target is local node.`);
  const target = state.nodes.get(params.target);
  if (!target) throw paramError({ target: `no such cluster node '${params.target}'` });
  if (!target.online) throw die(`target node '${params.target}' is not online`);
  const running = guest.status === 'running';
  if (running && !params.online) throw die(`can't migrate running VM without --online`);
  const local: LocalVolume[] = [];
  for (const drive of listDrives(guest.config).filter((d) => !d.isCdrom || d.isCloudinit)) {
    const vol = parseVolid(drive.volid);
    if (!vol) continue;
    const from = state.storageOn(node, vol.storage);
    if (!from || from.def.shared) continue;
    const toId = params.targetstorage ?? vol.storage;
    const to = state.storageOn(params.target, toId);
    // check_storage_availability, before the worker.
    if (!to) throw die(`storage '${toId}' is not available on node '${params.target}'`);
    local.push({
      drive,
      volid: drive.volid,
      from,
      to,
      volname: vol.volname,
      ref: drive.isCloudinit ? 'generated' : 'attached',
    });
  }
  local.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
  guest.config.lock = 'migrate';
  return state.tasks.start(node, 'qmigrate', String(vmid), user, async (rawLog) => {
    const startedAt = state.time.now();
    const log = (line: string, level: 'info' | 'err' = 'info'): void =>
      rawLog(`${logTime(state.time.now())}${level === 'err' ? ' ERROR:' : ''} ${line}`);
    try {
      log(`starting migration of VM ${vmid} to node '${params.target}' (${target.ip})`);
      const problem = scanLocalVolumes(local, running, params.withLocalDisks === true, log);
      if (problem) {
        const error = `Problem found while scanning volumes - ${problem}`;
        log(error, 'err');
        log('aborting phase 1 - cleanup resources');
        log(`migration aborted (duration ${duration(state.time.now() - startedAt)}): ${error}`, 'err');
        throw new Error('migration aborted');
      }
      for (const move of local) {
        const volume = move.from.volumes.get(move.volname);
        const size = volume?.sizeBytes ?? 0;
        log(`copying local disk '${move.volid}' to '${move.to.def.id}' on ${params.target}`);
        await move.to.bandwidth.copy(size, (done) =>
          log(
            `transferred ${formatBytesHuman(done)} of ${formatBytesHuman(size)} (${((done / Math.max(1, size)) * 100).toFixed(2)}%)`,
          ),
        );
        if (volume) move.to.volumes.set(move.volname, fullCopyOf(move.from, volume));
        freeVolume(move.from, move.volname);
        if (move.to.def.id !== move.from.def.id) {
          guest.config[move.drive.key] = guest.config[move.drive.key]!.replace(
            `${move.from.def.id}:`,
            `${move.to.def.id}:`,
          );
        }
      }
      guest.node = params.target;
      log(`migration finished successfully (duration ${duration(state.time.now() - startedAt)})`);
    } finally {
      delete guest.config.lock;
    }
  });
}

/** `scan_local_volumes`: logs what it found; answers the error that aborts the migration, if any. */
function scanLocalVolumes(
  local: LocalVolume[],
  running: boolean,
  withLocalDisks: boolean,
  log: (line: string) => void,
): string | undefined {
  const errors: Array<[string, string]> = [];
  for (const vol of local) {
    if (vol.ref === 'attached') {
      if (running && !withLocalDisks)
        errors.push([vol.volid, "can't live migrate attached local disks without with-local-disks option"]);
      log(`found local disk '${vol.volid}' (attached)`);
    } else log(`found generated disk '${vol.volid}' (in current VM config)`);
  }
  for (const [volid, error] of errors) log(`can't migrate local disk '${volid}': ${error}`);
  if (errors.length) return "can't migrate VM - check log";
  for (const vol of local) {
    const type = vol.from.def.type;
    if (!MIGRATABLE_TYPES.has(type)) return `can't migrate '${vol.volid}' - storage type '${type}' not supported`;
    const base = linkedCloneBase(vol.from.def, vol.volname);
    // A `die` without a newline: Perl appends where it happened.
    if (base)
      return `can't migrate '${vol.volid}' as it's a clone of '${base}' at /usr/share/perl5/PVE/QemuMigrate.pm line 586.`;
  }
  return undefined;
}

/** `strftime("%F %H:%M:%S", localtime)` of AbstractMigrate's log lines (the simulated host runs on UTC). */
function logTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** AbstractMigrate's `%02d:%02d:%02d` duration. */
function duration(ms: number): string {
  const total = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(total / 3600))}:${two(Math.floor(total / 60) % 60)}:${two(total % 60)}`;
}

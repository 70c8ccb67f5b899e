import { die, paramError } from '../sim-error.js';
import { snapshotsOf } from '../model/snapshots.js';
import type { SimGuest } from '../model/types.js';
import { route, type RouteTable, type SimContext } from './route-table.js';
import { paramText } from '../param-text.js';
import { featureDisks, rollbackOnlyToNewest, volumeCanSnapshot } from '../model/storage-features.js';
import { parseVolid } from '../model/storage-naming.js';

/** Seconds a snapshot, a rollback and a snapshot delete take in the sim. */
const SNAPSHOT_SECONDS = 1;

function guestOf(ctx: SimContext, params: Record<string, unknown>): SimGuest {
  return ctx.state.requireGuest(params.node as string, params.vmid as number, 'qemu');
}

function checkLock(guest: SimGuest): void {
  if (guest.config.lock) throw die(`VM is locked (${guest.config.lock})`);
}

/** pve-guest-common `AbstractConfig::__snapshot_prepare`: every disk's storage must have the feature. */
function assertSnapshotFeature(ctx: SimContext, config: Record<string, string>): void {
  for (const disk of featureDisks(config)) {
    const { storage, volname } = parseVolid(disk.volid)!;
    const def = ctx.state.storageDefs.get(storage);
    if (!def || !volumeCanSnapshot(def, volname)) throw new Error('snapshot feature is not available');
  }
}

/** pve-storage `volume_rollback_is_possible`: on ZFS (and LVM volume chains) only the newest snapshot. */
function assertRollbackPossible(ctx: SimContext, guest: SimGuest, snapname: string): void {
  const names = [...snapshotsOf(guest).keys()];
  if (names.indexOf(snapname) === names.length - 1) return;
  for (const disk of featureDisks(guest.config)) {
    const { storage } = parseVolid(disk.volid)!;
    const def = ctx.state.storageDefs.get(storage);
    if (def && rollbackOnlyToNewest(def))
      throw new Error(`can't rollback, '${snapname}' is not most recent snapshot on '${disk.volid.split(',')[0]}'`);
  }
}

/**
 * QEMU snapshots as qemu-server has them: `GET/POST …/snapshot`, `GET/DELETE …/snapshot/{snapname}`,
 * `POST …/snapshot/{snapname}/rollback`, each a task holding `lock: snapshot`, `snapshot-delete`
 * or `rollback`; a template cannot be snapshotted; and `clone` with `snapname` (the snapshot must
 * exist). Register after the guest routes.
 */
export function registerSnapshotRoutes(table: RouteTable): void {
  const base = '/nodes/{node}/qemu/{vmid}/snapshot';
  route(table, 'GET', base, (req, ctx) => {
    const guest = guestOf(ctx, req.params);
    const snaps = [...snapshotsOf(guest).values()];
    const last = snaps.at(-1)?.name;
    return [
      ...snaps.map((s) => ({
        name: s.name,
        description: s.description,
        snaptime: s.snaptime,
        ...(s.vmstate ? { vmstate: 1 } : {}),
        ...(s.parent ? { parent: s.parent } : {}),
      })),
      {
        name: 'current',
        description: 'You are here!',
        running: guest.status === 'running' ? 1 : 0,
        ...(last ? { parent: last } : {}),
        digest: 'sim',
      },
    ];
  });
  route(table, 'POST', base, (req, ctx) => {
    const guest = guestOf(ctx, req.params);
    const name = req.params.snapname as string;
    checkLock(guest);
    if (guest.config.template === '1') throw die(`you can't take a snapshot if it's a template`);
    if (name === 'current') throw paramError({ snapname: `invalid format - snapshot name 'current' is reserved` });
    const snaps = snapshotsOf(guest);
    if (snaps.has(name)) throw die(`snapshot name '${name}' already used`);
    guest.config.lock = 'snapshot';
    return ctx.state.tasks.start(guest.node, 'qmsnapshot', String(guest.vmid), req.principal.userid, async (log) => {
      try {
        const { lock: _lock, ...config } = guest.config;
        assertSnapshotFeature(ctx, config);
        await ctx.state.time.sleep(SNAPSHOT_SECONDS * 1000);
        const parent = [...snaps.keys()].at(-1);
        snaps.set(name, {
          name,
          description: paramText(req.params.description),
          snaptime: Math.floor(ctx.state.time.now() / 1000),
          vmstate: req.params.vmstate === 1,
          ...(parent ? { parent } : {}),
          config,
        });
        log(`snapshotting 'drive-scsi0' (${config.scsi0?.split(',')[0] ?? 'disk'})`);
      } finally {
        delete guest.config.lock;
      }
    }).upid;
  });
  route(table, 'GET', `${base}/{snapname}`, (req, ctx) => {
    const guest = guestOf(ctx, req.params);
    if (!snapshotsOf(guest).has(req.params.snapname as string))
      throw die(`snapshot '${paramText(req.params.snapname)}' does not exist`);
    return [{ cmd: 'config' }, { cmd: 'rollback' }];
  });
  route(table, 'DELETE', `${base}/{snapname}`, (req, ctx) => {
    const guest = guestOf(ctx, req.params);
    const name = req.params.snapname as string;
    const snaps = snapshotsOf(guest);
    if (!snaps.has(name)) throw die(`snapshot '${name}' does not exist`);
    if (req.params.force !== 1) checkLock(guest);
    guest.config.lock = 'snapshot-delete';
    return ctx.state.tasks.start(guest.node, 'qmdelsnapshot', String(guest.vmid), req.principal.userid, async () => {
      try {
        await ctx.state.time.sleep(SNAPSHOT_SECONDS * 1000);
        snaps.delete(name);
      } finally {
        delete guest.config.lock;
      }
    }).upid;
  });
  route(table, 'POST', `${base}/{snapname}/rollback`, (req, ctx) => {
    const guest = guestOf(ctx, req.params);
    const snap = snapshotsOf(guest).get(req.params.snapname as string);
    if (!snap) throw die(`snapshot '${paramText(req.params.snapname)}' does not exist`);
    checkLock(guest);
    const name = snap.name;
    return ctx.state.tasks.start(guest.node, 'qmrollback', String(guest.vmid), req.principal.userid, async () => {
      // qemu-server `snapshot_rollback`: the volumes are checked first, then the VM stopped and locked.
      assertRollbackPossible(ctx, guest, name);
      guest.config.lock = 'rollback';
      try {
        await ctx.state.time.sleep(SNAPSHOT_SECONDS * 1000);
        guest.config = { ...snap.config };
        if (!snap.vmstate) {
          guest.status = 'stopped';
          delete guest.startedAt;
          delete guest.agentReadyAt;
        }
        if (req.params.start === 1 && guest.status !== 'running') {
          const now = ctx.state.time.now();
          guest.status = 'running';
          guest.startedAt = now;
          guest.agentReadyAt = now + ctx.state.timings.agentBootSeconds * 1000;
        }
      } finally {
        delete guest.config.lock;
      }
    }).upid;
  });

  // Clone from a snapshot: the snapshot must exist; the copy is made as the plain clone makes it.
  const cloneKey = 'POST /nodes/{node}/qemu/{vmid}/clone';
  const clone = table.get(cloneKey);
  if (clone) {
    table.set(cloneKey, (req, ctx) => {
      const snapname = req.params.snapname;
      if (typeof snapname === 'string' && snapname !== 'current') {
        const guest = guestOf(ctx, req.params);
        if (!snapshotsOf(guest).has(snapname)) throw die(`snapshot '${snapname}' does not exist`);
      }
      return clone(req, ctx);
    });
  }
}

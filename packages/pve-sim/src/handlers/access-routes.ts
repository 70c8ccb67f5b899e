import type { RouteTable } from './route-table.js';
import { route } from './route-table.js';

/** Every privilege PVE 9 knows (`pveum role list`), which the simulator grants by default. */
export const AllPrivileges = [
  'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit',
  'Group.Allocate', 'Mapping.Audit', 'Mapping.Modify', 'Mapping.Use', 'Permissions.Modify',
  'Pool.Allocate', 'Pool.Audit', 'Realm.Allocate', 'Realm.AllocateUser',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
  'Sys.AccessNetwork', 'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt', 'Sys.Syslog',
  'User.Modify',
  'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Cloudinit',
  'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options', 'VM.Console',
  'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.GuestAgent.Unrestricted',
  'VM.Migrate', 'VM.PowerMgmt', 'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback',
] as const;

/** The top-level ACL paths PVE always lists in `GET /access/permissions` (when they carry privileges). */
const ROOT_PATHS = ['/', '/access', '/access/groups', '/mapping', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

/** Path → privilege → propagate (1) or not (0): the shape of PVE's `GET /access/permissions`. */
export type PermissionMap = Record<string, Record<string, 0 | 1>>;

/** Full privileges, propagated, on every top-level path: what a `root@pam` token sees. */
export function fullPermissions(): PermissionMap {
  const all = Object.fromEntries(AllPrivileges.map((p) => [p, 1 as const]));
  return Object.fromEntries(ROOT_PATHS.map((p) => [p, { ...all }]));
}

/** `GET /access/permissions`: the caller's effective privileges (the simulator has no ACLs yet). */
export function registerAccessRoutes(table: RouteTable): void {
  route(table, 'GET', '/access/permissions', (req, ctx) => {
    const map = ctx.auth.permissions() ?? fullPermissions();
    const path = req.params.path as string | undefined;
    if (path === undefined) return map;
    const own = map[path] ?? (ctx.auth.permissions() ? undefined : fullPermissions()['/']);
    return own ? { [path]: own } : {};
  });
}

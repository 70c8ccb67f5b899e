import { AllPrivileges, type PermissionMap } from '../model/access-control.js';
import { permissionDenied, splitTokenId } from '../model/access-control.js';
import type { RouteTable } from './route-table.js';
import { route } from './route-table.js';

export { AllPrivileges, type PermissionMap };

/** The top-level ACL paths PVE always considers in `GET /access/permissions`. */
const ROOT_PATHS = ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

/** Full privileges, propagated, on every top-level path: what a `root@pam` token sees. */
export function fullPermissions(): PermissionMap {
  const all = Object.fromEntries(AllPrivileges.map((p) => [p, 1 as const]));
  return Object.fromEntries(ROOT_PATHS.map((p) => [p, { ...all }]));
}

/**
 * `GET /access/permissions`, after pve-access-control `src/PVE/API2/AccessControl.pm`
 * (`permissions`, 5ccd07d9): one's own permissions (or an owned token's) freely, anyone else's
 * with `Sys.Audit` on `/access`; with `path`, only that path (`{}` when nothing is granted there).
 */
export function registerAccessRoutes(table: RouteTable): void {
  route(table, 'GET', '/access/permissions', (req, ctx) => {
    const authid = req.principal.userid;
    const userid = (req.params.userid as string | undefined) ?? authid;
    const owned = splitTokenId(userid).user === authid;
    if (userid !== authid && !owned && !ctx.access.has(authid, '/access', ['Sys.Audit']))
      throw permissionDenied('/access, Sys.Audit');
    const path = req.params.path as string | undefined;
    if (path === undefined) return ctx.access.effectivePermissions(userid);
    const privs = ctx.access.permissions(userid, path);
    return privs.size ? { [path]: Object.fromEntries(privs) } : {};
  });
}

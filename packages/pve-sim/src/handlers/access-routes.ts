import { AllPrivileges, type PermissionMap } from '../model/access-control.js';
import { permissionDenied, splitTokenId } from '../model/access-control.js';
import type { RouteTable } from './route-table.js';
import { route } from './route-table.js';
import { die, paramError } from '../sim-error.js';

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

  // pve-access-control `src/PVE/API2/User.pm` `read_user` (`$extract_user_data` with full): the
  // user.cfg fields that are set, `groups` sorted, `tokens` as stored (null without any).
  route(table, 'GET', '/access/users/{userid}', (req, ctx) => {
    const userid = req.params.userid as string;
    ctx.access.userExists(userid);
    const groups = [...ctx.access.groups].filter(([, members]) => members.has(userid)).map(([g]) => g);
    return { enable: 1, expire: 0, groups: groups.sort(), tokens: ctx.auth.tokensOf(userid) ?? null };
  });

  route(table, 'POST', '/access/users/{userid}/token/{tokenid}', (req, ctx) =>
    ctx.auth.generateToken(req.params.userid as string, req.params.tokenid as string, {
      ...(req.params.privsep !== undefined ? { privsep: req.params.privsep === 1 } : {}),
      ...(typeof req.params.expire === 'number' ? { expire: req.params.expire } : {}),
      ...(typeof req.params.comment === 'string' ? { comment: req.params.comment } : {}),
    }),
  );

  // pve-access-control `src/PVE/API2/Role.pm` `create_role`: `privs` has the format
  // `pve-priv-list`, each checked by `verify_privname` ("invalid privilege 'X'"), so a privilege
  // this version does not know — VM.Monitor on PVE 9 — fails parameter verification.
  route(table, 'POST', '/access/roles', (req, ctx) => {
    const roleid = req.params.roleid as string;
    const privs = (typeof req.params.privs === 'string' ? req.params.privs : '').split(/[;,\s]+/).filter(Boolean);
    const unknown = ctx.access.unknownPrivilege(privs);
    if (unknown !== undefined) throw paramError({ privs: `invalid format - invalid privilege '${unknown}'\n` });
    if (/^PVE/i.test(roleid))
      throw paramError({ roleid: "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" });
    if (ctx.access.roles.has(roleid)) throw die(`create role failed: role '${roleid}' already exists`);
    ctx.access.addRole(roleid, privs);
    return null;
  });
}

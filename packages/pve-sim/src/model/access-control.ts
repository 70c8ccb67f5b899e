import { PveSimError } from '../sim-error.js';
import { paramText } from '../param-text.js';

type PrivilegeGroups = Record<string, { root: string[]; admin: string[]; user: string[]; audit: string[] }>;

/**
 * PVE 9's privileges by category and level, as pve-access-control `src/PVE/AccessControl.pm`
 * (`$privgroups`, 5ccd07d9) groups them: `root` privileges are in no built-in role but
 * Administrator; `admin`, `user` and `audit` ones make up the PVE<Cat>Admin/User and PVEAuditor roles.
 */
const Pve9PrivilegeGroups: PrivilegeGroups = {
  VM: {
    root: [],
    admin: [
      'VM.Config.Disk',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Network',
      'VM.Config.HWType',
      'VM.Config.Options',
      'VM.Allocate',
      'VM.Clone',
      'VM.GuestAgent.Unrestricted',
      'VM.Migrate',
      'VM.Replicate',
      'VM.Snapshot',
      'VM.Snapshot.Rollback',
    ],
    user: [
      'VM.Config.CDROM',
      'VM.Config.Cloudinit',
      'VM.Console',
      'VM.Backup',
      'VM.GuestAgent.FileRead',
      'VM.GuestAgent.FileSystemMgmt',
      'VM.GuestAgent.FileWrite',
      'VM.PowerMgmt',
    ],
    audit: ['VM.Audit', 'VM.GuestAgent.Audit'],
  },
  Sys: {
    root: ['Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'],
    admin: ['Sys.Console', 'Sys.Syslog'],
    user: [],
    audit: ['Sys.Audit'],
  },
  Datastore: {
    root: [],
    admin: ['Datastore.Allocate', 'Datastore.AllocateTemplate'],
    user: ['Datastore.AllocateSpace'],
    audit: ['Datastore.Audit'],
  },
  SDN: { root: [], admin: ['SDN.Allocate', 'SDN.Audit'], user: ['SDN.Use'], audit: ['SDN.Audit'] },
  User: {
    root: ['Realm.Allocate'],
    admin: ['User.Modify', 'Group.Allocate', 'Realm.AllocateUser'],
    user: [],
    audit: [],
  },
  Pool: { root: [], admin: ['Pool.Allocate'], user: ['Pool.Audit'], audit: ['Pool.Audit'] },
  Mapping: { root: [], admin: ['Mapping.Modify'], user: ['Mapping.Use'], audit: ['Mapping.Audit'] },
};

/**
 * PVE 8's VM privileges (pve-access-control before 922f710 "add VM.GuestAgent privileges" and
 * 0706945 "privileges: drop VM.Monitor", released in 9.0.2; 5f7544f added VM.Replicate): VM.Monitor
 * instead of the VM.GuestAgent.* ones, no VM.Replicate.
 */
const Pve8VmGroup: PrivilegeGroups[string] = {
  root: [],
  admin: [
    'VM.Config.Disk',
    'VM.Config.CPU',
    'VM.Config.Memory',
    'VM.Config.Network',
    'VM.Config.HWType',
    'VM.Config.Options',
    'VM.Allocate',
    'VM.Clone',
    'VM.Migrate',
    'VM.Monitor',
    'VM.Snapshot',
    'VM.Snapshot.Rollback',
  ],
  user: ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.PowerMgmt'],
  audit: ['VM.Audit'],
};

function privilegeGroups(pveVersion: string): PrivilegeGroups {
  return Number.parseInt(pveVersion, 10) >= 9 ? Pve9PrivilegeGroups : { ...Pve9PrivilegeGroups, VM: Pve8VmGroup };
}

/** The built-in roles of `pveVersion`, derived the way pve-access-control's `create_roles` derives them. */
export function builtInRoles(pveVersion = '9.1.3'): Map<string, Set<string>> {
  const roles = new Map<string, Set<string>>();
  const add = (role: string, privs: string[]): void => {
    const set = roles.get(role) ?? new Set<string>();
    for (const p of privs) set.add(p);
    roles.set(role, set);
  };
  const all = new Set<string>(['Permissions.Modify']);
  add('NoAccess', []);
  for (const [cat, g] of Object.entries(privilegeGroups(pveVersion))) {
    for (const p of [...g.root, ...g.admin, ...g.user, ...g.audit]) all.add(p);
    add(`PVE${cat}Admin`, [...g.admin, ...g.user, ...g.audit]);
    add('PVEAdmin', [...g.admin, ...g.user, ...g.audit]);
    if (g.user.length) add(`PVE${cat}User`, [...g.user, ...g.audit]);
    add('PVEAuditor', g.audit);
  }
  roles.get('PVEAdmin')!.delete('Mapping.Modify');
  add('PVETemplateUser', ['VM.Clone', 'VM.Audit']);
  roles.set('Administrator', all);
  return roles;
}

/** Every privilege PVE 9 knows (the Administrator role). */
export const AllPrivileges: readonly string[] = [...builtInRoles().get('Administrator')!].sort();

/** Path → privilege → propagate (1) or not (0): the shape of PVE's `GET /access/permissions`. */
export type PermissionMap = Record<string, Record<string, 0 | 1>>;

/** One ACL entry (`pveum acl modify PATH --roles R --users U --propagate 1`). */
export interface SimAcl {
  path: string;
  roleid: string;
  /** `user` (`alice@pve`), `group` (`students`) or `token` (`alice@pve!bot`). */
  type: 'user' | 'group' | 'token';
  ugid: string;
  /** @defaultValue `true` */
  propagate?: boolean;
}

/** Pool membership the model needs: which VMs and storages each pool holds. */
export interface PoolMembership {
  pools(): Iterable<string>;
  vmsOf(pool: string): Iterable<number>;
  storagesOf(pool: string): Iterable<string>;
}

/** The paths `GET /access/permissions` always considers (pve-access-control `get_effective_permissions`). */
const EFFECTIVE_ROOTS = ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

/** A permission failure as PVE raises it: 403 `Permission check failed (<what>)` (pve-common `raise_perm_exc`). */
export function permissionDenied(what?: string): PveSimError {
  return new PveSimError(403, `Permission check failed${what ? ` (${what})` : ''}`);
}

/** Splits `user@realm!token` into its user and token name; undefined token for a plain user. */
export function splitTokenId(authid: string): { user: string; token?: string } {
  const i = authid.indexOf('!');
  return i < 0 ? { user: authid } : { user: authid.slice(0, i), token: authid.slice(i + 1) };
}

/**
 * PVE's permission model: users, groups, roles, ACLs with propagation, pools, and API tokens with
 * or without privilege separation — after pve-access-control `src/PVE/AccessControl.pm` (`roles`)
 * and `src/PVE/RPCEnvironment.pm` (`permissions`, `compile_acl_path`, `get_effective_permissions`,
 * `exec_api2_perm_check`) at 5ccd07d9.
 */
export class AccessControl {
  readonly roles: Map<string, Set<string>>;
  readonly groups = new Map<string, Set<string>>();
  /** Tokens by id with their privilege separation flag. */
  readonly tokens = new Map<string, { privsep: boolean }>();
  readonly users = new Set<string>(['root@pam']);
  acls: SimAcl[] = [];
  #recorded: PermissionMap | undefined;

  constructor(
    private readonly pools: PoolMembership,
    /** The PVE version simulated: which privileges exist (VM.Monitor until 8, VM.GuestAgent.* from 9). */
    readonly pveVersion = '9.1.3',
  ) {
    this.roles = builtInRoles(pveVersion);
  }

  /** Replaces the model by a recorded answer for every caller (tests); `undefined` restores the model. */
  setRecorded(map: PermissionMap | undefined): void {
    this.#recorded = map === undefined ? undefined : structuredClone(map);
  }

  /** The recorded answer, if one is set. */
  recorded(): PermissionMap | undefined {
    return this.#recorded;
  }

  /** The first of `privs` this PVE version does not know (pve-access-control `verify_privname`). */
  unknownPrivilege(privs: readonly string[]): string | undefined {
    return privs.find((p) => !this.roles.get('Administrator')!.has(p));
  }

  /** Adds a custom role; a privilege this PVE version does not know is refused (`add_role_privs`). */
  addRole(roleid: string, privs: string[]): void {
    const unknown = this.unknownPrivilege(privs);
    if (unknown !== undefined) throw new Error(`invalid privilege '${unknown}'`);
    this.roles.set(roleid, new Set(privs));
  }

  /** Grants a role on a path (PVE's `PUT /access/acl`). */
  addAcl(acl: SimAcl): void {
    if (!this.roles.has(acl.roleid)) throw new Error(`role '${acl.roleid}' does not exist`);
    this.acls.push({ propagate: true, ...acl });
  }

  /** The roles (→ propagate) `authid` has on `path` from ACLs alone, walking from `/` down (`roles`). */
  #roles(authid: string, path: string): Map<string, 0 | 1> {
    if (authid === 'root@pam') return new Map([['Administrator', 1]]);
    const { user, token } = splitTokenId(authid);
    if (token !== undefined) {
      const info = this.tokens.get(authid);
      if (!info) return new Map();
      if (!info.privsep) return this.#roles(user, path);
    }
    const parts = path === '/' ? [''] : path.split('/');
    let roles = new Map<string, 0 | 1>();
    let prefix = '';
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] !== '') prefix = `${prefix}/${parts[i]}`;
      const here = prefix || '/';
      const final = i === parts.length - 1;
      const pick = (type: SimAcl['type'], matches: (ugid: string) => boolean): Map<string, 0 | 1> | undefined => {
        let found: Map<string, 0 | 1> | undefined;
        for (const a of this.acls) {
          if (a.path !== here || a.type !== type || !matches(a.ugid)) continue;
          const propagate = a.propagate === false ? 0 : 1;
          if (final || propagate) (found ??= new Map()).set(a.roleid, propagate);
        }
        return found;
      };
      // A token's own entries override its user's, a user's override their groups'.
      const next =
        pick('token', (ugid) => ugid === authid) ??
        pick('user', (ugid) => ugid === authid) ??
        pick('group', (ugid) => this.groups.get(ugid)?.has(authid) ?? false);
      if (next) roles = next;
    }
    if (roles.has('NoAccess')) return new Map([['NoAccess', roles.get('NoAccess')!]]);
    return roles;
  }

  /** Privilege → propagate flag `authid` has on `path` (PVE's `$rpcenv->permissions`). */
  permissions(authid: string, path: string): Map<string, 0 | 1> {
    if (this.#recorded) return recordedPermissions(this.#recorded, path, EFFECTIVE_ROOTS);
    if (authid === 'root@pam') return new Map([...this.roles.get('Administrator')!].map((p) => [p, 1]));
    const { user, token } = splitTokenId(authid);
    if (token !== undefined) {
      const info = this.tokens.get(authid);
      if (!info) return new Map();
      if (!info.privsep) return this.permissions(user, path);
    } else if (!this.users.has(authid)) return new Map();
    const roles = this.#roles(authid, path);
    // Roles granted on a pool apply to its VMs and storages, not propagated (`compile_acl_path`).
    if (!roles.has('NoAccess')) {
      for (const pool of this.pools.pools()) {
        const members = [...this.pools.vmsOf(pool)]
          .map((v) => `/vms/${v}`)
          .concat([...this.pools.storagesOf(pool)].map((s) => `/storage/${s}`));
        if (!members.includes(path)) continue;
        for (const role of this.#roles(authid, `/pool/${pool}`).keys()) if (!roles.has(role)) roles.set(role, 0);
      }
    }
    const privs = new Map<string, 0 | 1>();
    for (const [role, propagate] of roles) {
      for (const p of this.roles.get(role) ?? []) privs.set(p, (privs.get(p) ?? 0) || propagate ? 1 : 0);
    }
    // A privilege-separated token has at most what its user has (root@pam's tokens excepted).
    if (token !== undefined && user !== 'root@pam') {
      const userPrivs = this.permissions(user, path);
      for (const [p, propagate] of privs) {
        if (!userPrivs.has(p)) privs.delete(p);
        else privs.set(p, userPrivs.get(p)! && propagate ? 1 : 0);
      }
    }
    return privs;
  }

  /** Every path the caller has privileges on (`get_effective_permissions`). */
  effectivePermissions(authid: string): PermissionMap {
    if (this.#recorded) return structuredClone(this.#recorded);
    const paths = new Set(EFFECTIVE_ROOTS);
    for (const a of this.acls) paths.add(a.path);
    for (const pool of this.pools.pools()) {
      for (const v of this.pools.vmsOf(pool)) paths.add(`/vms/${v}`);
      for (const s of this.pools.storagesOf(pool)) paths.add(`/storage/${s}`);
    }
    const out: PermissionMap = {};
    for (const path of paths) {
      const privs = this.permissions(authid, path);
      if (privs.size) out[path] = Object.fromEntries(privs);
    }
    return out;
  }

  /**
   * The `cap` of a ticket: privileges by top-level area, over `/`, `/nodes`, `/access/groups`,
   * `/vms`, `/storage`, `/sdn`, `/mapping` and every ACL path (pve-access-control
   * `src/PVE/RPCEnvironment.pm` `compute_api_permission`).
   */
  apiCapabilities(authid: string): Record<string, Record<string, 1>> {
    const areas: Record<string, RegExp> = {
      vms: /^(VM\.|Permissions\.Modify)/,
      access: /^((User|Group)\.|Permissions\.Modify)/,
      storage: /^(Datastore\.|Permissions\.Modify)/,
      nodes: /^(Sys\.|Permissions\.Modify)/,
      sdn: /^(SDN\.|Permissions\.Modify)/,
      dc: /^(Sys\.Audit|Sys\.Modify|SDN\.)/,
      mapping: /^(Mapping\.|Permissions.Modify)/,
    };
    const cap: Record<string, Record<string, 1>> = Object.fromEntries(Object.keys(areas).map((a) => [a, {}]));
    const paths = new Set(['/', '/nodes', '/access/groups', '/vms', '/storage', '/sdn', '/mapping']);
    for (const a of this.acls) paths.add(a.path);
    for (const path of paths) {
      const top = /^\/(\w+)/.exec(path)?.[1] ?? 'dc';
      for (const priv of this.permissions(authid, path).keys()) {
        if (top === 'pool') {
          if (priv.startsWith('VM.')) cap.vms![priv] = 1;
          else if (priv.startsWith('Datastore.')) cap.storage![priv] = 1;
          else if (priv === 'Permissions.Modify') cap.storage![priv] = cap.vms![priv] = 1;
        } else if (areas[top]?.test(priv)) cap[top]![priv] = 1;
      }
    }
    return cap;
  }

  /** Whether `authid` has every one of `privs` (or any, with `any`) on `path`. */
  has(authid: string, path: string, privs: readonly string[], any = false): boolean {
    const perms = this.permissions(authid, path);
    return any ? privs.some((p) => perms.has(p)) : privs.every((p) => perms.has(p));
  }

  /** Throws PVE's 403 unless `authid` has `privs` on `path` (`$rpcenv->check` / `check_any`). */
  check(authid: string, path: string, privs: readonly string[], any = false): void {
    if (this.has(authid, path, privs, any)) return;
    if (any) throw permissionDenied(`${path}, ${privs.join('|')}`);
    const perms = this.permissions(authid, path);
    throw permissionDenied(`${path}, ${privs.find((p) => !perms.has(p))}`);
  }

  /**
   * Whether `userid` exists; without `noerr`, PVE's plain `die` (HTTP 500) when not
   * (pve-access-control `src/PVE/AccessControl.pm` `check_user_exist`).
   */
  userExists(userid: string, noerr = false): boolean {
    if (this.users.has(userid)) return true;
    if (noerr) return false;
    throw new PveSimError(500, `no such user ('${userid}')`);
  }

  /**
   * The schema's (PVE 9) privileges as this version checks them: before PVE 9 every guest-agent
   * command needed VM.Monitor (qemu-server b92a40ce "api: agent: use more specific guest agent
   * privileges" replaced it with VM.GuestAgent.* in `src/PVE/API2/Qemu/Agent.pm`).
   */
  #versionPrivileges(privs: string[]): string[] {
    if (Number.parseInt(this.pveVersion, 10) >= 9 || !privs.some((p) => p.startsWith('VM.GuestAgent.'))) return privs;
    return [...new Set(privs.map((p) => (p.startsWith('VM.GuestAgent.') ? 'VM.Monitor' : p)))];
  }

  /**
   * Evaluates an endpoint's `permissions` from the API schema the way pveproxy does before the
   * handler runs (`check_api2_permissions`): `root@pam` passes, `user: all` passes, a missing
   * description means root only, otherwise its `check` expression is evaluated.
   */
  checkApi(permissions: SchemaPermissions | undefined, authid: string, params: Record<string, unknown>): void {
    if (authid === 'root@pam') return;
    if (!permissions) throw permissionDenied('user != root@pam');
    if (permissions.user === 'all' || permissions.user === 'world') return;
    if (permissions.check) this.#evaluate(permissions.check, authid, params, false);
    else throw permissionDenied();
  }

  #evaluate(check: unknown[], authid: string, params: Record<string, unknown>, noerr: boolean): boolean {
    const [test, ...rest] = check;
    if (test === 'and') {
      for (const sub of rest) this.#evaluate(sub as unknown[], authid, params, false);
      return true;
    }
    if (test === 'or') {
      for (const sub of rest) if (this.#evaluate(sub as unknown[], authid, params, true)) return true;
      if (noerr) return false;
      throw permissionDenied();
    }
    if (test === 'perm') {
      const [template, schemaPrivs, ...flat] = rest as [string, string[], ...unknown[]];
      const privs = this.#versionPrivileges(schemaPrivs);
      const options: Record<string, unknown> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) options[String(flat[i])] = flat[i + 1];
      const required = options.require_param as string | undefined;
      if (required && params[required] === undefined) {
        if (noerr) return false;
        throw permissionDenied();
      }
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => paramText(params[name]));
      const any = Boolean(options.any);
      if (noerr) return this.has(authid, path, privs, any);
      this.check(authid, path, privs, any);
      return true;
    }
    if (test === 'userid-param' && rest[0] === 'self') {
      const userid = paramText(params.userid);
      if (!this.userExists(userid, noerr)) return false;
      if (authid === userid) return true;
      if (noerr) return false;
      throw permissionDenied();
    }
    if (test === 'userid-group') {
      // Any of the privileges on /access/groups, or on a group the user is a member of.
      const userid = paramText(params.userid);
      const privs = rest[0] as string[];
      if (!this.userExists(userid, noerr)) return false;
      if (this.has(authid, '/access/groups', privs, true)) return true;
      for (const [group, members] of this.groups)
        if (members.has(userid) && this.has(authid, `/access/groups/${group}`, privs, true)) return true;
      if (noerr) return false;
      throw permissionDenied();
    }
    if (test === 'userid-param' || test === 'perm-modify') {
      // Access-management endpoints the simulator does not serve; be strict.
      if (this.has(authid, '/access', ['User.Modify', 'Permissions.Modify'], true)) return true;
      if (noerr) return false;
      throw permissionDenied();
    }
    throw new Error(`pve-sim: unknown permission test '${String(test)}'`);
  }
}

/** An endpoint's `permissions` object in the API schema. */
export interface SchemaPermissions {
  user?: string;
  check?: unknown[];
  description?: string;
}

/** Privileges on `path` from a recorded `GET /access/permissions` answer: the path's own, else the nearest ancestor's propagated ones. */
function recordedPermissions(map: PermissionMap, path: string, listedAlways: readonly string[]): Map<string, 0 | 1> {
  const own = map[path];
  if (own) return new Map(Object.entries(own));
  // PVE lists these paths whenever they carry a privilege: absent means none.
  if (listedAlways.includes(path)) return new Map();
  for (let p = parentPath(path); p !== undefined; p = parentPath(p)) {
    const entry = map[p];
    if (entry) return new Map(Object.entries(entry).filter(([, propagate]) => propagate === 1));
  }
  return new Map();
}

function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

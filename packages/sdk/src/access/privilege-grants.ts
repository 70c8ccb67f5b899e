import type { PrivilegeRequirement } from './pve-privileges.js';

/** A `GET /access/permissions` answer: ACL path → privilege → propagate (1) or not (0). */
export type PermissionAnswer = Record<string, Record<string, number | boolean>>;

function parentOf(path: string): string | undefined {
  if (path === '/') return undefined;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * Whether a `GET /access/permissions` answer grants `privilege` on `path`: the path's own entry,
 * else the nearest listed ancestor's propagated privileges (PVE lists every path that has an ACL,
 * so a path that is not listed inherits from its ancestors).
 */
export function grants(map: PermissionAnswer, path: string, privilege: string): boolean {
  const own = map[path];
  if (own) return privilege in own;
  for (let p = parentOf(path); p !== undefined; p = parentOf(p)) {
    const entry = map[p];
    if (entry) return entry[privilege] === 1 || entry[privilege] === true;
  }
  return false;
}

/**
 * The requirements `map` does not meet, each with the privileges it lacks. For SDN.Use, a grant on
 * one bridge below the zone (`/sdn/zones/localnetwork/vmbr0`) also counts.
 */
export function missingPrivileges(
  map: PermissionAnswer,
  requirements: readonly PrivilegeRequirement[],
): Array<PrivilegeRequirement & { missing: string[] }> {
  const has = (path: string, privilege: string): boolean =>
    grants(map, path, privilege) ||
    (privilege === 'SDN.Use' &&
      Object.entries(map).some(([p, privs]) => p.startsWith(`${path}/`) && privs[privilege] !== undefined));
  return requirements
    .map((r) => ({ ...r, missing: r.privileges.filter((p) => !has(r.path, p)) }))
    .filter((r) => r.missing.length > 0);
}

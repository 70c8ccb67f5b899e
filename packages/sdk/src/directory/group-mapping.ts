import type { DirectoryGroupsConfig } from './directory-config.js';

/** What membership of a directory group gives a person in the lab. */
export type GroupGrant = { kind: 'class'; classId: string; role: 'student' | 'teacher' } | { kind: 'admin' };

/** `cn=CS101 Students, OU=Groups` → `cn=cs101 students,ou=groups`: DNs compare case- and space-insensitively. */
export function normalizeDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return `${rdn.slice(0, eq).trim()}=${rdn.slice(eq + 1).trim()}`.toLowerCase();
    })
    .join(',');
}

/** Whether `value` is written as a DN (`cn=…,ou=…`) rather than a plain group name. */
export function looksLikeDn(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-]*\s*=/.test(value.trim()) && splitDn(value).every((rdn) => rdn.includes('='));
}

/** The value of a DN's first RDN (`cn=cs101-students,ou=groups` → `cs101-students`), unescaped. */
export function firstRdnValue(dn: string): string {
  const first = splitDn(dn)[0] ?? '';
  return first
    .slice(first.indexOf('=') + 1)
    .trim()
    .replace(/\\([0-9a-fA-F]{2}|.)/g, (_, c: string) => (c.length === 2 ? String.fromCharCode(parseInt(c, 16)) : c));
}

function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[i + 1]!;
      i++;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function keyOf(group: string): string {
  return looksLikeDn(group) ? `dn:${normalizeDn(group)}` : `name:${group.trim().toLowerCase()}`;
}

/**
 * `directory.groups` compiled for lookups. A configured group written as a DN matches that DN only;
 * one written as a name matches a group of that name (its `cn`, the first RDN of its DN) or the same
 * string in an OpenID Connect `groups` claim, case-insensitively.
 */
export class GroupMapping {
  readonly #grants = new Map<string, GroupGrant[]>();
  /** Classes whose students the directory keeps: a class some group grants as student. */
  readonly managedClasses: ReadonlySet<string>;
  /** Classes any group grants (as student or teacher). */
  readonly mappedClasses: ReadonlySet<string>;
  /** The configured group names and DNs, as written. */
  readonly groups: readonly string[];

  constructor(config: DirectoryGroupsConfig) {
    const managed = new Set<string>();
    const mapped = new Set<string>();
    for (const [group, value] of Object.entries(config)) {
      const grants: GroupGrant[] = (Array.isArray(value) ? value : [value]).map((g) =>
        'admin' in g ? { kind: 'admin' } : { kind: 'class', classId: g.class, role: g.role },
      );
      for (const g of grants) {
        if (g.kind !== 'class') continue;
        mapped.add(g.classId);
        if (g.role === 'student') managed.add(g.classId);
      }
      const key = keyOf(group);
      this.#grants.set(key, [...(this.#grants.get(key) ?? []), ...grants]);
    }
    this.managedClasses = managed;
    this.mappedClasses = mapped;
    this.groups = Object.keys(config);
  }

  /** True when no group is mapped. */
  get isEmpty(): boolean {
    return this.#grants.size === 0;
  }

  /** The grants of a person in `groups` (names or DNs, as LDAP or an OIDC claim gives them), without duplicates. */
  grantsFor(groups: Iterable<string>): GroupGrant[] {
    const found = new Map<string, GroupGrant>();
    for (const group of groups) {
      if (typeof group !== 'string' || !group.trim()) continue;
      const keys = looksLikeDn(group)
        ? [keyOf(group), `name:${firstRdnValue(group).toLowerCase()}`]
        : [`name:${group.trim().toLowerCase()}`];
      for (const key of keys)
        for (const grant of this.#grants.get(key) ?? [])
          found.set(grant.kind === 'admin' ? 'admin' : `${grant.classId}:${grant.role}`, grant);
    }
    return [...found.values()];
  }
}

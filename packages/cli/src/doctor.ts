import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Clusters, isLabError, type ClusterConfig } from '@lab/proxmox-sdk';
import { createMigrator, openStore, parseStoreUrl, redactStoreUrl } from '@lab/proxmox-store';
import { checkFrontEnds } from './doctor-front-ends.js';
import { loadLabConfig, type LabConfig } from './lab-config.js';

/** One line of the checklist. */
export interface DoctorCheck {
  /** What was checked: `configuration`, `store`, `cluster <id>`. */
  subject: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about a warning or failure: commands or config keys. */
  fix?: string[];
}

/** The checklist; `ok` is false when any check failed (warnings do not count). */
export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** A privilege set Proxmox Lab needs, where it needs it, and the built-in PVE role that grants it. */
export interface PrivilegeRequirement {
  path: string;
  privileges: readonly string[];
  role: string;
  why: string;
}

/**
 * What the cluster token must be allowed, checked against `GET /access/permissions`. The roles are
 * PVE's built-in ones: PVEVMAdmin holds every VM.* privilege listed, PVEDatastoreUser
 * Datastore.AllocateSpace and Datastore.Audit, PVESDNUser SDN.Use (and SDN.Audit), PVEAuditor Sys.Audit.
 */
export const RequiredPrivileges: readonly PrivilegeRequirement[] = [
  {
    path: '/vms',
    privileges: [
      'VM.Clone',
      'VM.Allocate',
      'VM.Config.Disk',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Network',
      'VM.Config.Options',
      'VM.Config.Cloudinit',
      'VM.PowerMgmt',
      'VM.Audit',
    ],
    role: 'PVEVMAdmin',
    why: 'to clone, configure, start and stop class VMs',
  },
  {
    path: '/storage',
    privileges: ['Datastore.AllocateSpace', 'Datastore.Audit'],
    role: 'PVEDatastoreUser',
    why: 'to allocate the clones’ disks',
  },
  {
    path: '/sdn/zones/localnetwork',
    privileges: ['SDN.Use'],
    role: 'PVESDNUser',
    why: 'to attach VMs to the node bridges (PVE 8 and later)',
  },
  { path: '/nodes', privileges: ['Sys.Audit'], role: 'PVEAuditor', why: 'to read node load for placement' },
];

/** What the browser console (`console.publicUrl` set) needs besides: `vncproxy` and `vncwebsocket`. */
export const ConsolePrivilege: PrivilegeRequirement = {
  path: '/vms',
  privileges: ['VM.Console'],
  role: 'PVEVMUser',
  why: 'to open the VNC console of /myvm console links',
};

type Permissions = Record<string, Record<string, number>>;

/**
 * Whether `permissions` (PVE's effective privileges per path) grant `privilege` on `path`: the most
 * specific listed path at or above it decides, and one above it counts only if it propagates.
 * For SDN.Use, a grant on one bridge below the zone (`/sdn/zones/localnetwork/vmbr0`) also counts.
 */
export function hasPrivilege(permissions: Permissions, path: string, privilege: string): boolean {
  if (
    privilege === 'SDN.Use' &&
    Object.entries(permissions).some(([p, privs]) => p.startsWith(`${path}/`) && privs[privilege] !== undefined)
  )
    return true;
  const parts = path.split('/').filter(Boolean);
  for (let n = parts.length; n >= 0; n--) {
    const at = `/${parts.slice(0, n).join('/')}`;
    const privs = permissions[at];
    if (!privs) continue;
    if (at === path) return privs[privilege] !== undefined;
    return privs[privilege] === 1;
  }
  return false;
}

/** The privileges a token lacks, one entry per requirement that is not met. */
export function missingPrivileges(
  permissions: Permissions,
  options: { console?: boolean } = {},
): Array<PrivilegeRequirement & { missing: string[] }> {
  return [...RequiredPrivileges, ...(options.console ? [ConsolePrivilege] : [])]
    .map((r) => ({ ...r, missing: r.privileges.filter((p) => !hasPrivilege(permissions, r.path, p)) }))
    .filter((r) => r.missing.length > 0);
}

/**
 * Checks an installation end to end: the configuration, the store (reachable, migrated), and per
 * cluster its TLS trust, reachability and PVE version, and the token's privileges; then the Slack and
 * Discord settings and `console.publicUrl` that are configured. Never throws:
 * every problem is a failed check that says what to do.
 */
export async function runDoctor(configPath?: string): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const file = resolve(configPath ?? process.env.LAB_CONFIG ?? 'lab.config.json');
  let config: LabConfig;
  try {
    config = loadLabConfig(file);
    checks.push({ subject: 'configuration', status: 'ok', detail: `${file} is valid` });
  } catch (error) {
    checks.push({
      subject: 'configuration',
      status: 'fail',
      detail: messageOf(error),
      fix: existsSync(file) ? [`edit ${file}`] : ['lab init'],
    });
    return { ok: false, checks };
  }
  checks.push(await checkStore(config.store));
  for (const [index, cluster] of config.clusters.entries())
    checks.push(...(await checkCluster(cluster, index, { console: Boolean(config.console?.publicUrl) })));
  checks.push(...checkFrontEnds(config));
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}

async function checkStore(url: string): Promise<DoctorCheck> {
  const shown = redactStoreUrl(url);
  try {
    const location = parseStoreUrl(url);
    if (location.engine === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
      return {
        subject: 'store',
        status: 'fail',
        detail: `${shown}: the database file does not exist yet`,
        fix: ['lab db migrate (or lab init)'],
      };
    }
    const store = await openStore(url, { migrate: false });
    try {
      const migrations = await createMigrator(store.db as never, store.engine).getMigrations();
      const pending = migrations.filter((m) => !m.executedAt).map((m) => m.name);
      if (pending.length)
        return {
          subject: 'store',
          status: 'fail',
          detail: `${shown} is reachable but ${pending.length} migration(s) are pending: ${pending.join(', ')}`,
          fix: ['lab db migrate'],
        };
      return {
        subject: 'store',
        status: 'ok',
        detail: `${shown} is reachable and at the latest schema (${migrations.length} migrations)`,
      };
    } finally {
      await store.close();
    }
  } catch (error) {
    return {
      subject: 'store',
      status: 'fail',
      detail: messageOf(error),
      fix: ["check the 'store' key (or LAB_STORE) and that the database is up"],
    };
  }
}

async function checkCluster(
  cluster: ClusterConfig,
  index: number,
  needs: { console: boolean },
): Promise<DoctorCheck[]> {
  const subject = `cluster ${cluster.id}`;
  const checks: DoctorCheck[] = [];
  const key = (k: string) => `clusters.${index}.${k}`;
  if (cluster.insecure)
    checks.push({
      subject,
      status: 'warn',
      detail: 'TLS: insecure, any certificate is accepted (a machine in the middle could read the token)',
      fix: [
        `set ${key('fingerprint')} to the SHA-256 fingerprint 'pvenode cert info' shows, and remove ${key('insecure')}`,
      ],
    });
  else if (cluster.fingerprint)
    checks.push({ subject, status: 'ok', detail: `TLS: certificate pinned (${cluster.fingerprint.slice(0, 11)}…)` });
  else if (cluster.ca || cluster.caFile)
    checks.push({
      subject,
      status: 'ok',
      detail: `TLS: certificates checked against the CA in ${cluster.caFile ?? key('ca')}`,
    });
  else checks.push({ subject, status: 'ok', detail: 'TLS: certificates checked against the system CAs' });

  let clusters: Clusters;
  try {
    clusters = new Clusters([cluster]);
  } catch (error) {
    checks.push({
      subject,
      status: 'fail',
      detail: messageOf(error).replace("'clusters.0.", `'${key('')}`),
      fix: ['lab init, or set the key it names'],
    });
    return checks;
  }
  const api = clusters.get(cluster.id);
  try {
    let version: string;
    try {
      version = (await api.get<{ version: string }>('/version')).version;
    } catch (error) {
      checks.push({ subject, status: 'fail', detail: messageOf(error), fix: fixFor(error, cluster, index) });
      return checks;
    }
    const major = Number.parseInt(version, 10);
    checks.push(
      major >= 8
        ? { subject, status: 'ok', detail: `reachable: Proxmox VE ${version}` }
        : {
            subject,
            status: 'warn',
            detail: `reachable: Proxmox VE ${version}; Proxmox Lab needs 8 or later (SDN.Use, the API it speaks)`,
            fix: ['upgrade the cluster to PVE 8 or 9'],
          },
    );

    let permissions: Permissions;
    try {
      permissions = await api.get<Permissions>('/access/permissions');
    } catch (error) {
      checks.push({
        subject,
        status: 'fail',
        detail: `cannot read the token's privileges: ${messageOf(error)}`,
        fix: fixFor(error, cluster, index),
      });
      return checks;
    }
    const who = cluster.tokenId ? `token ${cluster.tokenId}` : `user ${cluster.username}`;
    const grantee = cluster.tokenId ? `--tokens '${cluster.tokenId}'` : `--users '${cluster.username}'`;
    const missing = missingPrivileges(permissions, needs);
    if (missing.length === 0)
      checks.push({ subject, status: 'ok', detail: `privileges: the ${who} has every privilege Proxmox Lab needs` });
    for (const m of missing) {
      const fix = [`pveum acl modify ${m.path} ${grantee} --roles ${m.role}`];
      if (m.role === 'PVESDNUser')
        fix.push(`or per bridge: pveum acl modify ${m.path}/vmbr0 ${grantee} --roles PVESDNUser`);
      if (cluster.tokenId)
        fix.push(
          `(a token with privilege separation also needs the same on its user ${cluster.tokenId.split('!')[0]})`,
        );
      checks.push({
        subject,
        status: 'fail',
        detail: `privileges: the ${who} lacks ${m.missing.join(', ')} on ${m.path}, needed ${m.why}`,
        fix,
      });
    }
  } finally {
    await clusters.close();
  }
  return checks;
}

function fixFor(error: unknown, cluster: ClusterConfig, index: number): string[] {
  const code = isLabError(error) ? error.code : '';
  if (code === 'LAB_PVE_TLS')
    return [
      `compare 'pvenode cert info' on the node with clusters.${index}.fingerprint and update it (or run lab init --force again)`,
    ];
  if (code === 'LAB_PVE_AUTH' || code === 'LAB_PVE_HTTP_401')
    return [
      `check clusters.${index}.tokenId and its secret (tokenSecretFile or LAB_CLUSTER_${cluster.id.toUpperCase().replace(/-/g, '_')}_TOKEN_SECRET); 'pveum user token list <user>' lists tokens`,
    ];
  if (code === 'LAB_PVE_HTTP_403')
    return [
      `pveum acl modify / ${cluster.tokenId ? `--tokens '${cluster.tokenId}'` : `--users '${cluster.username}'`} --roles PVEAuditor, then run lab doctor again for the rest`,
    ];
  return [`check clusters.${index}.url (${cluster.url}) and that port 8006 is reachable from this machine`];
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** The checklist as text: ✓ / ! / ✗ per line, each failure followed by what to do. */
export function renderDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.subject.length));
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(
      `${check.status === 'ok' ? '✓' : check.status === 'warn' ? '!' : '✗'} ${check.subject.padEnd(width)}  ${check.detail}`,
    );
    (check.fix ?? []).forEach((fix, i) => lines.push(`  ${' '.repeat(width)}  ${i === 0 ? 'fix:' : '    '} ${fix}`));
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    failed
      ? `${failed} check(s) failed.`
      : warned
        ? `All checks passed, with ${warned} warning(s).`
        : 'All checks passed.',
  );
  return lines.join('\n');
}

import { missingPrivileges, type PermissionAnswer } from '../access/privilege-grants.js';
import { labPrivilegeRequirements, pveMajorVersion } from '../access/pve-privileges.js';
import { isLabError } from '../errors/lab-error.js';
import type { ClusterApis, ClusterDescription } from '../ports/cluster-apis.js';
import { pveResources } from '../pve/pve-resources.js';
import { readPveVersion } from '../pve/version-resource.js';
import { doctorReport, type DoctorCheck, type DoctorReport } from './doctor-report.js';

/** What `LabDoctor` checks against. */
export interface LabDoctorOptions {
  clusters: ClusterApis;
  /** Whether browser console links are served (`console.publicUrl` set): then VM.Console is needed too. */
  console?: boolean;
  /**
   * Whether classes use networks on PVE SDN (then SDN.Allocate, SDN.Audit and SDN.Use on `/sdn` are
   * needed too), for every cluster or per cluster (e.g. whether the store records any SDN object
   * of it). @defaultValue false
   */
  networks?: boolean | ((clusterId: string) => Promise<boolean>);
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Checks each cluster the lab uses: how its certificate is trusted, that it answers and which
 * Proxmox VE version it runs (`GET /version`), and that the lab's token has every privilege that
 * version needs (`GET /access/permissions` against `labPrivilegeRequirements`, the table the
 * deployment preflight uses). Never throws: every problem is a failed check saying what to do.
 */
export class LabDoctor {
  readonly #clusters: ClusterApis;
  readonly #console: boolean;
  readonly #networks: (clusterId: string) => Promise<boolean>;

  constructor(options: LabDoctorOptions) {
    this.#clusters = options.clusters;
    this.#console = options.console ?? false;
    const networks = options.networks ?? false;
    this.#networks = typeof networks === 'function' ? networks : () => Promise.resolve(networks);
  }

  /** Every cluster's checks, in configuration order. */
  async checkClusters(): Promise<DoctorReport> {
    const checks: DoctorCheck[] = [];
    for (const id of this.#clusters.ids()) checks.push(...(await this.checkCluster(id)));
    return doctorReport(checks);
  }

  /** The checks of cluster `id`: TLS trust, reachability and version, privileges. */
  async checkCluster(id: string): Promise<DoctorCheck[]> {
    const subject = `cluster ${id}`;
    const about = this.#clusters.describe?.(id);
    const checks: DoctorCheck[] = about ? [tlsCheck(subject, about)] : [];
    const api = this.#clusters.get(id);
    let version: string;
    try {
      version = (await readPveVersion(api)).version;
    } catch (error) {
      checks.push({ subject, status: 'fail', detail: messageOf(error), fix: fixFor(error, id, about) });
      return checks;
    }
    checks.push(
      pveMajorVersion(version) >= 8
        ? { subject, status: 'ok', detail: `reachable: Proxmox VE ${version}` }
        : {
            subject,
            status: 'warn',
            detail: `reachable: Proxmox VE ${version}; Proxmox Lab needs 8 or later (SDN.Use, the API it speaks)`,
            fix: ['upgrade the cluster to PVE 8 or 9'],
          },
    );
    let permissions: PermissionAnswer;
    try {
      permissions = await pveResources(api).access.permissions();
    } catch (error) {
      checks.push({
        subject,
        status: 'fail',
        detail: `cannot read the token's privileges: ${messageOf(error)}`,
        fix: fixFor(error, id, about),
      });
      return checks;
    }
    const who = about?.tokenId ? `token ${about.tokenId}` : about?.username ? `user ${about.username}` : 'token';
    const grantee = about?.tokenId
      ? `--tokens '${about.tokenId}'`
      : about?.username
        ? `--users '${about.username}'`
        : '--tokens <token id>';
    const networks = await this.#networks(id).catch(() => false);
    const missing = missingPrivileges(
      permissions,
      labPrivilegeRequirements(version, { console: this.#console, networks }),
    );
    if (missing.length === 0)
      checks.push({ subject, status: 'ok', detail: `privileges: the ${who} has every privilege Proxmox Lab needs` });
    for (const m of missing) {
      const fix = [`pveum acl modify ${m.path} ${grantee} --roles ${m.role}`];
      if (m.role === 'PVESDNUser')
        fix.push(`or per bridge: pveum acl modify ${m.path}/vmbr0 ${grantee} --roles PVESDNUser`);
      if (about?.tokenId)
        fix.push(`(a token with privilege separation also needs the same on its user ${about.tokenId.split('!')[0]})`);
      checks.push({
        subject,
        status: 'fail',
        detail: `privileges: the ${who} lacks ${m.missing.join(', ')} on ${m.path}, needed ${m.why} (Proxmox VE ${version})`,
        fix,
      });
    }
    return checks;
  }
}

function tlsCheck(subject: string, about: ClusterDescription): DoctorCheck {
  const key = (k: string) => `clusters.${about.index}.${k}`;
  switch (about.tls.mode) {
    case 'insecure':
      return {
        subject,
        status: 'warn',
        detail: 'TLS: insecure, any certificate is accepted (a machine in the middle could read the token)',
        fix: [
          `set ${key('fingerprint')} to the SHA-256 fingerprint 'pvenode cert info' shows, and remove ${key('insecure')}`,
        ],
      };
    case 'pinned':
      return { subject, status: 'ok', detail: `TLS: certificate pinned (${about.tls.fingerprint.slice(0, 11)}…)` };
    case 'ca':
      return { subject, status: 'ok', detail: `TLS: certificates checked against the CA in ${about.tls.source}` };
    default:
      return { subject, status: 'ok', detail: 'TLS: certificates checked against the system CAs' };
  }
}

function fixFor(error: unknown, id: string, about: ClusterDescription | undefined): string[] {
  const code = isLabError(error) ? error.code : '';
  const index = about?.index ?? 0;
  if (code === 'LAB_PVE_TLS')
    return [
      `compare 'pvenode cert info' on the node with clusters.${index}.fingerprint and update it (or run lab init --force again)`,
    ];
  if (code === 'LAB_PVE_AUTH' || code === 'LAB_PVE_HTTP_401')
    return [
      `check clusters.${index}.tokenId and its secret (tokenSecretFile or LAB_CLUSTER_${id.toUpperCase().replace(/-/g, '_')}_TOKEN_SECRET); 'pveum user token list <user>' lists tokens`,
    ];
  if (code === 'LAB_PVE_HTTP_403')
    return [
      `pveum acl modify / ${about?.tokenId ? `--tokens '${about.tokenId}'` : `--users '${about?.username ?? '<user>'}'`} --roles PVEAuditor, then run lab doctor again for the rest`,
    ];
  return [
    `check clusters.${index}.url (${about?.url ?? 'the cluster URL'}) and that port 8006 is reachable from this machine`,
  ];
}

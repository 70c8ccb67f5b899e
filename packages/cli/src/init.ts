import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { connect } from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import { LabError, ProxmoxClient } from '@lab/proxmox-sdk';
import { normalizeFingerprint } from '@lab/proxmox-sdk/pve';
import { openStore, redactStoreUrl } from '@lab/proxmox-store';
import { CertificateNotTrustedError, CliUsageError, ConfigExistsError, InsecureUrlError } from './cli-errors.js';
import { labConfigSchema, resolveStoreUrl } from './lab-config.js';
import { operatorName } from './operator.js';
import type { GlobalOptions } from './global-options.js';
import { ask, confirm, interactive } from './prompt.js';

/** The flags of `lab init`. */
export interface InitOptions extends GlobalOptions {
  url?: string;
  tokenId?: string;
  tokenSecretFile?: string;
  cluster?: string;
  store?: string;
  fingerprint?: string;
  ca?: string;
  admin?: string;
  force?: boolean;
}

/** What `lab init` did (its `--json` output). */
export interface InitReport {
  config: string;
  configWritten: boolean;
  cluster: { id: string; url: string; version: string };
  trust: { fingerprint: string } | { caFile: string };
  store: string;
  /**
   * The admin `--admin` (default: the OS user) names. When the store already has other admins it is
   * created only if the operator says yes on a terminal; otherwise `created` is false, `role` is
   * `none` and `otherAdmins` names the admins the store has.
   */
  admin: { username: string; created: boolean; role: string; otherAdmins?: string[] };
}

const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;
const CLUSTER_ID = /^[a-z][a-z0-9-]{0,31}$/;

/** The cluster's API origin, or an error for anything but `https://host[:port]`. */
export function clusterOrigin(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `https://${raw}`);
  } catch {
    throw new CliUsageError(`'${raw}' is not a URL; give the node's address like https://pve1.example.org:8006.`);
  }
  if (url.protocol === 'http:') throw new InsecureUrlError(raw);
  if (url.protocol !== 'https:')
    throw new CliUsageError(
      `'${raw}' is not an https:// URL; give the node's address like https://pve1.example.org:8006.`,
    );
  if (!url.port) url.port = '8006';
  return new URL(url.origin);
}

/** The SHA-256 fingerprint of the certificate `origin` presents (`AA:BB:…`), read without trusting it. */
export function peerFingerprint(origin: URL, timeoutMs = 10_000): Promise<string> {
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolvePeer, reject) => {
    const socket = connect({
      host,
      port: Number(origin.port),
      rejectUnauthorized: false,
      ...(isIP(host) ? {} : { servername: host }),
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolvePeer(fingerprint);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new LabError(
          'LAB_PVE_CONNECTION',
          `Cannot reach ${origin.origin} (${error.code ?? error.message}); check the address and that port ${origin.port} is open from this machine.`,
          { url: origin.origin },
        ),
      ),
    );
  });
}

/**
 * `lab init`: writes `lab.config.json` (the token secret only by reference: `tokenSecretFile` or
 * `LAB_CLUSTER_<ID>_TOKEN_SECRET`), pins the node certificate the operator confirmed (or trusts a
 * CA), checks the token with one `GET /version`, creates and migrates the store and creates the
 * first admin. Safe to run again: an identical configuration is left alone, a different one is
 * replaced only with `--force` or the operator's yes, and an existing admin is kept. A second admin
 * is never added silently: with admins already in the store, a new name needs a yes on a terminal.
 */
export async function runInit(options: InitOptions, print: (text: string) => void): Promise<InitReport> {
  const canAsk = interactive() && !options.yes && !options.json;
  const say = (text: string) => {
    if (!options.json) print(text);
  };
  const need = async (value: string | undefined, flag: string, question: string, fallback = ''): Promise<string> => {
    if (value) return value;
    if (canAsk) {
      const answer = await ask(question, fallback);
      if (answer) return answer;
    }
    throw new CliUsageError(`lab init needs ${flag}; run it on a terminal to be asked, or pass the flag.`);
  };

  const file = resolve(options.config ?? process.env.LAB_CONFIG ?? 'lab.config.json');
  const existing = readExisting(file);
  const origin = clusterOrigin(await need(options.url, '--url https://host:8006', 'Cluster URL (https://host:8006):'));
  const sameCluster = existing?.clusters?.find(
    (c) => typeof c.url === 'string' && c.url.replace(/\/$/, '') === origin.origin,
  );
  const clusterId = options.cluster ?? (typeof sameCluster?.id === 'string' ? sameCluster.id : 'pve');
  if (!CLUSTER_ID.test(clusterId))
    throw new CliUsageError(
      `'${clusterId}' is not a cluster id; use lower-case letters, digits and dashes, starting with a letter (--cluster pve).`,
    );
  const tokenId = await need(options.tokenId, '--token-id USER@REALM!TOKENID', 'API token id (e.g. lab@pve!bot):');
  const envName = `LAB_CLUSTER_${clusterId.toUpperCase().replace(/-/g, '_')}_TOKEN_SECRET`;
  let tokenSecretFile = options.tokenSecretFile;
  if (!tokenSecretFile && !process.env[envName])
    tokenSecretFile = await need(
      undefined,
      `--token-secret-file FILE (or ${envName} in the environment)`,
      'File holding the token secret (only its path is written to the configuration):',
    );
  if (tokenSecretFile) tokenSecretFile = resolve(tokenSecretFile);
  let secret = process.env[envName];
  if (!secret) {
    try {
      secret = readFileSync(tokenSecretFile!, 'utf8').trim();
    } catch (error) {
      throw new CliUsageError(
        `Cannot read the token secret file ${tokenSecretFile} (${(error as NodeJS.ErrnoException).code}); put the secret PVE showed in it, readable by this user only.`,
      );
    }
  }

  // Trust: a CA file, a fingerprint the operator typed, or the one the node shows, once confirmed.
  let trust: InitReport['trust'];
  let tls: { ca: string } | { fingerprint: string };
  if (options.ca) {
    const caFile = resolve(options.ca);
    try {
      tls = { ca: readFileSync(caFile, 'utf8') };
    } catch (error) {
      throw new CliUsageError(
        `Cannot read the CA file ${caFile} (${(error as NodeJS.ErrnoException).code}); copy /etc/pve/pve-root-ca.pem from a node.`,
      );
    }
    trust = { caFile };
  } else {
    const presented = await peerFingerprint(origin);
    if (options.fingerprint) {
      const wanted = normalizeFingerprint(options.fingerprint);
      if (wanted !== presented)
        throw new CertificateNotTrustedError(
          `${origin.origin} presented certificate ${presented}, not ${wanted}; check the address, or compare with 'pvenode cert info' on the node.`,
          { presented, wanted },
        );
    } else if (pinnedBefore(existing, clusterId) === presented) {
      say(`✓ the node still presents the pinned certificate ${presented}`);
    } else {
      say(
        `The node's certificate has the SHA-256 fingerprint\n  ${presented}\nCompare it with 'pvenode cert info' on the node (or the GUI: node → System → Certificates).`,
      );
      const accepted = options.yes || (canAsk && (await confirm('Pin this certificate?')));
      if (!accepted)
        throw new CertificateNotTrustedError(
          canAsk
            ? 'The certificate was not pinned; nothing was written.'
            : `Confirm the certificate: pass --fingerprint ${presented} after checking it, or --yes to pin what the node shows.`,
          { presented },
        );
    }
    tls = { fingerprint: presented };
    trust = { fingerprint: presented };
  }

  const client = new ProxmoxClient({
    clusterId,
    baseUrl: origin.origin,
    auth: { type: 'token', tokenId, secret },
    tls,
    timeoutMs: 15_000,
    retry: { maxAttempts: 1 },
  });
  let version: string;
  try {
    version = (await client.get<{ version: string }>('/version')).version;
  } finally {
    await client.close();
  }
  say(`✓ connected to ${origin.origin}: Proxmox VE ${version}`);

  const cluster = {
    id: clusterId,
    url: origin.origin,
    tokenId,
    ...(tokenSecretFile ? { tokenSecretFile } : {}),
    ...('caFile' in trust ? { caFile: trust.caFile } : { fingerprint: trust.fingerprint }),
  };
  const clusters = [...(existing?.clusters ?? [])];
  const at = clusters.findIndex((c) => c.id === clusterId);
  if (at >= 0) clusters[at] = cluster;
  else clusters.push(cluster);
  const next = { ...existing, store: options.store ?? existing?.store ?? 'sqlite:./lab.db', clusters };
  const checked = labConfigSchema.safeParse(next);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new CliUsageError(
      `The configuration would be invalid at '${issue.path.join('.')}': ${issue.message}; fix ${file} by hand or pass --force to start over.`,
    );
  }
  let written = false;
  if (!existing || !isDeepStrictEqual(existing, next)) {
    if (
      existsSync(file) &&
      !options.force &&
      !(canAsk && (await confirm(`${file} exists and would change. Overwrite it?`)))
    )
      throw new ConfigExistsError(file);
    writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
    written = true;
  }
  say(
    written
      ? `✓ wrote ${file} (the token secret stays in ${tokenSecretFile ?? envName})`
      : `✓ ${file} already says this; left as it is`,
  );

  const store = await openStore(resolveStoreUrl(checked.data.store, dirname(resolve(file))), {
    createDirectories: true,
  });
  try {
    const adminName = options.admin ?? operatorName();
    if (!USERNAME.test(adminName))
      throw new CliUsageError(
        `'${adminName}' is not a lab username (lower-case letters, digits, dots, dashes, underscores); pass --admin <username>.`,
      );
    let admin = await store.classes.getPersonByUsername(adminName);
    const otherAdmins = admin
      ? []
      : (await store.classes.listPeople()).filter((p) => p.role === 'admin').map((p) => p.username);
    const addAnother =
      !admin &&
      otherAdmins.length > 0 &&
      canAsk &&
      (await confirm(
        `The store already has the admin${otherAdmins.length > 1 ? 's' : ''} ${otherAdmins.join(', ')}. Add '${adminName}' as another admin?`,
      ));
    const created = !admin && (otherAdmins.length === 0 || addAnother);
    if (created)
      admin = await store.classes.createPerson(
        { username: adminName, displayName: adminName, role: 'admin' },
        Date.now(),
      );
    await store.audit.record({
      at: Date.now(),
      actor: `cli:${operatorName()}`,
      action: 'setup.init',
      target: file,
      outcome: 'ok',
      details: {
        cluster: clusterId,
        url: origin.origin,
        admin: adminName,
        adminCreated: created,
        ...(otherAdmins.length ? { otherAdmins } : {}),
        configWritten: written,
      },
    });
    say(`✓ store ${redactStoreUrl(checked.data.store)} is at the latest schema`);
    say(
      !admin
        ? `! not created the admin '${adminName}': the store already has the admin${otherAdmins.length > 1 ? 's' : ''} ${otherAdmins.join(', ')}; lab people add ${adminName} --name "…" --role admin adds another admin.`
        : created
          ? `✓ created the admin '${adminName}'${otherAdmins.length ? ` beside ${otherAdmins.join(', ')}` : ''}`
          : admin.role === 'admin'
            ? `✓ the admin '${adminName}' already exists`
            : `! '${adminName}' already exists as a ${admin.role}; not changed`,
    );
    say('Next: lab doctor');
    const report: InitReport = {
      config: file,
      configWritten: written,
      cluster: { id: clusterId, url: origin.origin, version },
      trust,
      store: redactStoreUrl(checked.data.store),
      admin: {
        username: adminName,
        created,
        role: admin?.role ?? 'none',
        ...(otherAdmins.length ? { otherAdmins } : {}),
      },
    };
    if (options.json) print(JSON.stringify(report));
    return report;
  } finally {
    await store.close();
  }
}

/** The fingerprint the existing configuration pins for `clusterId`, normalized, if any. */
function pinnedBefore(existing: RawConfig | undefined, clusterId: string): string | undefined {
  const pinned = existing?.clusters?.find((c) => c.id === clusterId)?.fingerprint;
  try {
    return typeof pinned === 'string' ? normalizeFingerprint(pinned) : undefined;
  } catch {
    return undefined;
  }
}

type RawConfig = { store?: string; clusters?: Array<Record<string, unknown>>; [key: string]: unknown };

function readExisting(file: string): RawConfig | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as RawConfig) : {};
  } catch {
    return {};
  }
}

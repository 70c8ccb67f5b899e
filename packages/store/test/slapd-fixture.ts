import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The suffix, administrator and read-only service account of the test directory. */
export const BASE_DN = 'dc=school,dc=example';
export const ROOT_DN = `cn=admin,${BASE_DN}`;
export const ROOT_PW = 'root-secret';
export const READER_DN = `cn=lab-reader,${BASE_DN}`;
export const READER_PW = 'reader-secret';
/** Searches by the service account return at most this many entries unless paged. */
export const READER_SIZE_LIMIT = 500;

const SLAPD_CANDIDATES = ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/local/libexec/slapd'];
const MODULE_DIRS = [
  '/usr/lib/ldap',
  '/usr/lib/x86_64-linux-gnu/ldap',
  '/usr/lib/aarch64-linux-gnu/ldap',
  '/usr/local/libexec/openldap',
];
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];

/** Why slapd cannot run here (printed when the LDAP tests are skipped), or undefined when it can. */
export function slapdUnavailableReason(): string | undefined {
  if (!SLAPD_CANDIDATES.some((p) => existsSync(p)))
    return 'slapd is not installed (apt-get install slapd ldap-utils; .ci/run does)';
  if (!MODULE_DIRS.some((d) => existsSync(join(d, 'memberof.so')) || existsSync(join(d, 'memberof.la'))))
    return 'the slapd memberof overlay module is not installed';
  if (!SCHEMA_DIRS.some((d) => existsSync(join(d, 'inetorgperson.schema'))))
    return 'the OpenLDAP schema files are not installed';
  if (!existsSync('/usr/bin/ldapadd')) return 'ldapadd is not installed (apt-get install ldap-utils)';
  return undefined;
}

/** A self-signed certificate for 127.0.0.1 made with openssl, and its SHA-256 fingerprint as Node prints it. */
export async function selfSignedCertificate(
  dir: string,
  name: string,
): Promise<{ cert: string; key: string; fingerprint: string; pem: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const pem = readFileSync(cert, 'utf8');
  return { cert, key, fingerprint: new X509Certificate(pem).fingerprint256, pem };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not listen on ${port}: ${log()}`);
}

/** A running slapd in a temporary directory, on loopback ports. */
export interface Slapd {
  /** `ldap://127.0.0.1:<port>` (StartTLS offered). */
  url: string;
  /** `ldaps://127.0.0.1:<port>`. */
  ldapsUrl: string;
  /** The server certificate's fingerprint and PEM. */
  fingerprint: string;
  certPem: string;
  dir: string;
  /** Adds entries with one `ldapadd` as the administrator. */
  ldapadd(ldif: string): Promise<void>;
  /** Runs `ldapmodify` as the administrator. */
  ldapmodify(ldif: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's slapd with an mdb database under {@link BASE_DN}, the memberOf overlay, a
 * read-only service account whose unpaged searches stop at {@link READER_SIZE_LIMIT} entries, and
 * LDAPS plus StartTLS with a self-signed certificate made for the test.
 */
export async function startSlapd(): Promise<Slapd> {
  const slapd = SLAPD_CANDIDATES.find((p) => existsSync(p))!;
  const moduleDir = MODULE_DIRS.find((d) => existsSync(join(d, 'memberof.so')) || existsSync(join(d, 'memberof.la')))!;
  const schemaDir = SCHEMA_DIRS.find((d) => existsSync(join(d, 'inetorgperson.schema')))!;
  const dir = mkdtempSync(join(tmpdir(), 'lab-slapd-'));
  mkdirSync(join(dir, 'db'));
  const tlsCert = await selfSignedCertificate(dir, 'slapd');
  const [port, tlsPort] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'slapd.conf'),
    `include ${schemaDir}/core.schema
include ${schemaDir}/cosine.schema
include ${schemaDir}/inetorgperson.schema
modulepath ${moduleDir}
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
TLSCertificateFile ${tlsCert.cert}
TLSCertificateKeyFile ${tlsCert.key}
database mdb
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${dir}/db
maxsize 268435456
index objectClass eq
index uid eq
index member eq
limits dn.exact="${READER_DN}" size.soft=${READER_SIZE_LIMIT} size.hard=${READER_SIZE_LIMIT} size.pr=${READER_SIZE_LIMIT} size.prtotal=unlimited
access to dn.base="" by * read
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="${READER_DN}" read by * none
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
`,
  );
  let output = '';
  const child = spawn(
    slapd,
    ['-f', join(dir, 'slapd.conf'), '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await waitForPort(port, child, () => output);
  await waitForPort(tlsPort, child, () => output);
  const url = `ldap://127.0.0.1:${port}`;
  const tool = async (command: 'ldapadd' | 'ldapmodify', ldif: string) => {
    const file = join(dir, `${command}-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
    writeFileSync(file, ldif);
    await run(command, ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW, '-f', file], { maxBuffer: 64 * 1024 * 1024 });
  };
  await tool(
    'ldapadd',
    `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
dc: school
o: School

dn: ou=people,${BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ${READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: lab-reader
userPassword: ${READER_PW}
`,
  );
  return {
    url,
    ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
    fingerprint: tlsCert.fingerprint,
    certPem: tlsCert.pem,
    dir,
    ldapadd: (ldif) => tool('ldapadd', ldif),
    ldapmodify: (ldif) => tool('ldapmodify', ldif),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy on loopback in front of `port` that drops both connections once it has passed
 * `cutAfterBytes` bytes from the server to the client: a directory that goes away mid-read.
 */
export async function startCuttingProxy(
  port: number,
  cutAfterBytes: number,
): Promise<{ url: string; cuts: () => number; close(): Promise<void> }> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let passed = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      passed += chunk.length;
      if (passed > cutAfterBytes) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: proxyPort } = server.address() as { port: number };
  return {
    url: `ldap://127.0.0.1:${proxyPort}`,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

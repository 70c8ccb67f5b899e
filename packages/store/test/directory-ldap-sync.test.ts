import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import {
  DirectoryAuthError,
  DirectoryConnectionError,
  DirectoryTlsError,
  DirectoryUnenrolThresholdError,
} from '@lab/proxmox-sdk/errors';
import {
  DirectoryService,
  GroupMapping,
  LdapDirectory,
  directoryConfigSchema,
  ldapConfigSchema,
  type Store,
} from '@lab/proxmox-sdk';
import { openStore } from '../src/index.js';
import {
  BASE_DN,
  READER_DN,
  READER_PW,
  READER_SIZE_LIMIT,
  selfSignedCertificate,
  slapdUnavailableReason,
  startCuttingProxy,
  startSlapd,
  type Slapd,
} from './slapd-fixture.js';

const reason = slapdUnavailableReason();
if (reason) console.log(`[directory-ldap-sync] OpenLDAP tests skipped: ${reason}`);

const USERS = 1200;
const CLASSES = 10;
const PER_SECTION = 30;
const uid = (i: number) => `s${String(i + 1).padStart(4, '0')}`;
const classId = (c: number) => `c${String(c + 1).padStart(2, '0')}`;
const group = (name: string) => `cn=${name},ou=groups,${BASE_DN}`;

/**
 * 1,200 people and 40 groups: per class a `cXX-students` group whose members are two section
 * groups of 30 students (nesting), a teachers group, an admins group, and clubs of unmapped
 * groups (two of them nested in each other, a cycle). Students 601–1,200 are in no mapped group.
 */
function directoryLdif(): string {
  const out: string[] = [];
  for (let i = 0; i < USERS; i++)
    out.push(`dn: uid=${uid(i)},ou=people,${BASE_DN}
objectClass: inetOrgPerson
uid: ${uid(i)}
cn: Student ${i + 1}
sn: ${i + 1}
displayName: Student Number ${i + 1}
mail: ${uid(i)}@school.example
`);
  const groups: Array<{ name: string; members: string[] }> = [];
  for (let c = 0; c < CLASSES; c++) {
    for (const [s, section] of ['a', 'b'].entries()) {
      const first = c * 2 * PER_SECTION + s * PER_SECTION;
      groups.push({
        name: `${classId(c)}-sec-${section}`,
        members: Array.from({ length: PER_SECTION }, (_, k) => `uid=${uid(first + k)},ou=people,${BASE_DN}`),
      });
    }
    groups.push({
      name: `${classId(c)}-students`,
      members: [group(`${classId(c)}-sec-a`), group(`${classId(c)}-sec-b`)],
    });
  }
  groups.push({
    name: 'c01-teachers',
    members: [`uid=${uid(1198)},ou=people,${BASE_DN}`, `uid=${uid(1199)},ou=people,${BASE_DN}`],
  });
  groups.push({ name: 'lab-admins', members: [`uid=${uid(1197)},ou=people,${BASE_DN}`] });
  for (let k = 0; k < 8; k++)
    groups.push({
      name: `club-${k}`,
      members: [
        `uid=${uid(700 + k)},ou=people,${BASE_DN}`,
        ...(k === 1 ? [group('club-0')] : k === 0 ? [] : [group(`club-${k - 1}`)]),
      ],
    });
  for (const g of groups)
    out.push(`dn: ${group(g.name)}
objectClass: groupOfNames
cn: ${g.name}
${g.members.map((m) => `member: ${m}`).join('\n')}
`);
  // club-0 ⟷ club-1: a cycle, added once both exist.
  return out.join('\n');
}

const groupsConfig = {
  ...Object.fromEntries(
    Array.from({ length: CLASSES }, (_, c) =>
      c % 2 === 0
        ? [`${classId(c)}-students`, { class: classId(c), role: 'student' }]
        : [group(`${classId(c)}-students`).toUpperCase(), { class: classId(c), role: 'student' }],
    ),
  ),
  'c01-teachers': { class: 'c01', role: 'teacher' },
  'lab-admins': { admin: true },
};

describe.skipIf(reason)('directory sync against a real OpenLDAP (1,200 users, 40 groups, nested)', () => {
  let slapd: Slapd;
  let store: Store;
  let dir: string;
  const mapping = new GroupMapping(directoryConfigSchema.parse({ groups: groupsConfig }).groups);

  const ldap = (overrides: Record<string, unknown> = {}) =>
    new LdapDirectory({
      config: ldapConfigSchema.parse({
        url: slapd.url,
        bindDn: READER_DN,
        password: READER_PW,
        userBase: `ou=people,${BASE_DN}`,
        userFilter: '(objectClass=inetOrgPerson)',
        groupBase: `ou=groups,${BASE_DN}`,
        attributes: { username: 'uid', displayName: 'displayName', email: 'mail' },
        pageSize: 200,
        ...overrides,
      }),
    });
  const service = (source = ldap()) => new DirectoryService({ store, source, mapping });
  const students = async (c: string) => (await store.classes.members(c)).filter((m) => m.role === 'student').length;
  const snapshot = async () => ({
    people: (await store.classes.listPeople()).length,
    members: (await Promise.all(Array.from({ length: CLASSES }, (_, c) => store.classes.members(classId(c))))).flat()
      .length,
  });

  beforeAll(async () => {
    slapd = await startSlapd();
    await slapd.ldapadd(directoryLdif());
    await slapd.ldapmodify(`dn: ${group('club-0')}\nchangetype: modify\nadd: member\nmember: ${group('club-1')}\n`);
    dir = mkdtempSync(join(tmpdir(), 'lab-directory-'));
    store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    for (let c = 0; c < CLASSES; c++)
      await store.classes.createClass({ id: classId(c), name: `Class ${c + 1}`, templateId: null, ownerId: null }, 1);
  });

  afterAll(async () => {
    await store?.close();
    await slapd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the service account cannot read everyone without paging (so the sync must page)', async () => {
    const client = new Client({ url: slapd.url });
    await client.bind(READER_DN, READER_PW);
    // LDAP result code 4: sizeLimitExceeded.
    await expect(
      client.search(`ou=people,${BASE_DN}`, { filter: '(objectClass=inetOrgPerson)' }),
    ).rejects.toMatchObject({ code: 4 });
    await client.unbind();
    expect(READER_SIZE_LIMIT).toBeLessThan(USERS);
  });

  it('a dry run lists the changes and writes nothing; apply makes them; a second run changes nothing', async () => {
    const dry = await service().sync({ dryRun: true });
    expect(dry.read).toEqual({ people: USERS, skipped: 0, nesting: 'walk' });
    // 600 students in nested section groups, 2 teachers, 1 admin.
    expect(dry.counts).toEqual({ created: 603, updated: 0, roles: 0, enrolled: 602, unenrolled: 0 });
    expect(dry.plans.find((p) => p.username === 's0001')?.changes).toEqual([
      {
        type: 'create-person',
        username: 's0001',
        displayName: 'Student Number 1',
        email: 's0001@school.example',
        role: 'student',
      },
      { type: 'enrol', username: 's0001', classId: 'c01', role: 'student' },
    ]);
    expect(await snapshot()).toEqual({ people: 0, members: 0 });

    const applied = await service().sync();
    expect(applied.applied).toBe(true);
    for (let c = 0; c < CLASSES; c++) expect(await students(classId(c))).toBe(2 * PER_SECTION);
    expect(await store.classes.getPersonByUsername('s1200')).toMatchObject({ role: 'teacher' });
    expect(await store.classes.getPersonByUsername('s1198')).toMatchObject({ role: 'admin' });
    expect(await store.classes.getPersonByUsername('s0701')).toBeUndefined();
    expect((await store.audit.list({ actor: 'directory', action: 'directory.enrol' })).length).toBe(602);
    const [diff] = await store.audit.list({ actor: 'directory', action: 'directory.diff', limit: 1 });
    expect(diff!.details.counts).toEqual(applied.counts);

    const before = await snapshot();
    const again = await service().sync();
    expect(again.plans).toEqual([]);
    expect(again.counts).toEqual({ created: 0, updated: 0, roles: 0, enrolled: 0, unenrolled: 0 });
    expect(await snapshot()).toEqual(before);
    const status = await service().status();
    expect(status.lastRun).toMatchObject({ mode: 'apply', outcome: 'ok', people: USERS });
    expect(status.failuresSinceSuccess).toBe(0);
  });

  it('moving 3 students between groups moves their enrolment', async () => {
    const moved = ['s0001', 's0002', 's0003'];
    const dns = moved.map((u) => `member: uid=${u},ou=people,${BASE_DN}`).join('\n');
    await slapd.ldapmodify(
      `dn: ${group('c01-sec-a')}\nchangetype: modify\ndelete: member\n${dns}\n\ndn: ${group('c02-sec-b')}\nchangetype: modify\nadd: member\n${dns}\n`,
    );
    const report = await service().sync();
    expect(report.counts).toMatchObject({ enrolled: 3, unenrolled: 3, created: 0 });
    for (const u of moved) {
      const p = await store.classes.getPersonByUsername(u);
      expect((await store.classes.classesOf(p!.id)).map((m) => m.classId)).toEqual(['c02']);
    }
    expect(await students('c01')).toBe(57);
    expect(await students('c02')).toBe(63);
  });

  it('a filter that matches nobody stops before unenrolling anyone, with a coded error', async () => {
    const before = await snapshot();
    const error = await service(ldap({ userFilter: '(uid=nobody-at-all)' }))
      .sync()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirectoryUnenrolThresholdError);
    expect((error as DirectoryUnenrolThresholdError).code).toBe('LAB_DIRECTORY_UNENROL_THRESHOLD');
    expect(await snapshot()).toEqual(before);
    const status = await service().status();
    expect(status.lastRun).toMatchObject({ outcome: 'denied', error: { code: 'LAB_DIRECTORY_UNENROL_THRESHOLD' } });
  });

  it('a wrong bind password, a certificate mismatch and a server that goes away mid-read change nothing', async () => {
    const before = await snapshot();
    const audits = (await store.audit.list({ actor: 'directory' })).length;

    await expect(service(ldap({ password: 'wrong' })).sync()).rejects.toBeInstanceOf(DirectoryAuthError);

    const other = await selfSignedCertificate(dir, 'other');
    await expect(service(ldap({ url: slapd.ldapsUrl, fingerprint: other.fingerprint })).sync()).rejects.toBeInstanceOf(
      DirectoryTlsError,
    );
    await expect(
      service(ldap({ url: slapd.url, startTls: true, fingerprint: other.fingerprint })).sync(),
    ).rejects.toBeInstanceOf(DirectoryTlsError);
    // Not pinned and not signed by a trusted CA: refused too.
    await expect(service(ldap({ url: slapd.ldapsUrl })).sync()).rejects.toBeInstanceOf(DirectoryTlsError);

    const proxy = await startCuttingProxy(Number(new URL(slapd.url).port), 60_000);
    try {
      const error = await service(ldap({ url: proxy.url }))
        .sync()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DirectoryConnectionError);
      expect(proxy.cuts()).toBe(1);
    } finally {
      await proxy.close();
    }
    expect(await snapshot()).toEqual(before);
    const failed = (await store.audit.list({ actor: 'directory' })).slice(0, -audits || undefined);
    expect(
      failed.map((a) => `${a.action}:${a.outcome}:${String((a.details.error as { code?: string })?.code)}`),
    ).toEqual([
      'directory.sync:failed:LAB_DIRECTORY_CONNECTION',
      'directory.sync:failed:LAB_DIRECTORY_TLS',
      'directory.sync:failed:LAB_DIRECTORY_TLS',
      'directory.sync:failed:LAB_DIRECTORY_TLS',
      'directory.sync:failed:LAB_DIRECTORY_AUTH',
    ]);
  });

  it('reads over LDAPS and StartTLS when the certificate is pinned or its CA given', async () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, slapd.certPem);
    for (const source of [
      ldap({ url: slapd.ldapsUrl, fingerprint: slapd.fingerprint }),
      ldap({ url: slapd.url, startTls: true, fingerprint: slapd.fingerprint.replace(/:/g, '').toLowerCase() }),
      ldap({ url: slapd.ldapsUrl, caFile }),
    ]) {
      const read = await source.read(mapping.groups);
      expect(read.people).toHaveLength(USERS);
    }
    // The next sync over TLS finds nothing to change.
    expect((await service(ldap({ url: slapd.ldapsUrl, fingerprint: slapd.fingerprint })).sync()).plans).toEqual([]);
  });
});

describe('directory.ldap configuration', () => {
  it('refuses plain LDAP except on loopback, and needs StartTLS or LDAPS elsewhere', () => {
    const base = { bindDn: 'cn=x', password: 'p', userBase: 'ou=people,dc=x' };
    const plain = ldapConfigSchema.safeParse({ ...base, url: 'ldap://dc1.school.example' });
    expect(plain.success).toBe(false);
    expect(plain.error!.issues[0]!.message).toMatch(/plain LDAP/);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldap://dc1.school.example', startTls: true }).success).toBe(
      true,
    );
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldaps://dc1.school.example:636' }).success).toBe(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldap://127.0.0.1:3389' }).success).toBe(true);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldaps://user:pw@dc1.school.example' }).success).toBe(false);
    expect(ldapConfigSchema.safeParse({ ...base, url: 'ldaps://dc1', userFilter: 'uid=x' }).success).toBe(false);
  });
});

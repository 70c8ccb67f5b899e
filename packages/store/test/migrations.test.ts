import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import { NO_MIGRATIONS, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, StoreUnavailableError } from '@lab/proxmox-sdk/errors';
import { createMigrator, openStore, parseStoreUrl, redactStoreUrl, type KyselyStore } from '../src/index.js';
import { createScratchPostgresDatabase, postgresUnavailableReason } from './engines.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-migrate-'));
const pgReason = await postgresUnavailableReason();
if (pgReason) console.log(`[migrations] PostgreSQL skipped: ${pgReason}`);
const scratches: Array<{ drop: () => Promise<void> }> = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const s of scratches) await s.drop();
});

async function freshUrl(engine: 'sqlite' | 'postgres'): Promise<string> {
  if (engine === 'sqlite') return `sqlite:${join(dir, `${Math.random().toString(36).slice(2)}.db`)}`;
  const scratch = await createScratchPostgresDatabase();
  scratches.push(scratch);
  return scratch.url;
}

async function tableNames(store: KyselyStore): Promise<string[]> {
  const tables = await store.db.introspection.getTables();
  return tables
    .map((t) => t.name)
    .filter((n) => !n.startsWith('lab_migrations'))
    .sort();
}

const engines = pgReason ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);

describe.each(engines)('migrations on %s', (engine) => {
  it('create every table on open, and go down and up again', async () => {
    const url = await freshUrl(engine);
    const store = await openStore(url);
    expect(await tableNames(store)).toEqual([
      'audit_log',
      'class_base_versions',
      'class_labs',
      'class_members',
      'class_schedules',
      'class_settings',
      'class_terms',
      'class_time_policies',
      'classes',
      'clusters',
      'console_grants',
      'deployment_items',
      'deployments',
      'identities',
      'invite_uses',
      'invites',
      'join_requests',
      'leases',
      'link_codes',
      'nonces',
      'people',
      'quota_top_ups',
      'rate_counters',
      'sdn_objects',
      'ssh_keys',
      'sync_state',
      'template_inventory',
      'template_node_mappings',
      'templates',
      'vm_assignments',
      'vm_idle',
      'vm_inventory',
      'vm_usage_intervals',
      'web_sessions',
    ]);
    const migrator = createMigrator(store.db as never, engine);
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([
      ['0021-inventory-sync-keys', 'Down', 'Success'],
      ['0020-class-pinned-nodes', 'Down', 'Success'],
      ['0019-class-networks', 'Down', 'Success'],
      ['0018-lab-definitions', 'Down', 'Success'],
      ['0017-class-terms', 'Down', 'Success'],
      ['0016-idle-signals-and-quota-top-ups', 'Down', 'Success'],
      ['0015-vm-snapshots', 'Down', 'Success'],
      ['0014-inventory-without-last-updated-index', 'Down', 'Success'],
      ['0013-idle-in-sessions', 'Down', 'Success'],
      ['0012-link-codes', 'Down', 'Success'],
      ['0011-web-sessions', 'Down', 'Success'],
      ['0009-claims-and-lock-heartbeats', 'Down', 'Success'],
      ['0008-console-grants', 'Down', 'Success'],
      ['0007-keeps-and-idle-warning', 'Down', 'Success'],
      ['0006-usage-and-time-policies', 'Down', 'Success'],
      ['0005-class-schedules', 'Down', 'Success'],
      ['0004-ssh-keys-and-class-versions', 'Down', 'Success'],
      ['0003-people-email-and-invites', 'Down', 'Success'],
      ['0002-deployment-notify-and-nonces', 'Down', 'Success'],
      ['0001-initial-schema', 'Down', 'Success'],
    ]);
    expect(await tableNames(store)).toEqual([]);
    const up = await migrator.migrateToLatest();
    expect(up.results?.map((r) => r.status)).toEqual(down.results?.map(() => 'Success'));
    expect(await tableNames(store)).toHaveLength(34);
    await store.close();
  });

  it('gives a class policy and an idle record written before 0007 one keep per session, none used, and the default warning delay', async () => {
    const url = await freshUrl(engine);
    const store = await openStore(url, { migrate: false });
    const migrator = createMigrator(store.db as never, engine);
    expect((await migrator.migrateTo('0006-usage-and-time-policies')).error).toBeUndefined();
    await sql`insert into classes (id, name, created_at) values ('cs101', 'CS 101', 1)`.execute(store.db);
    await sql`insert into class_time_policies (class_id, quota_hours, idle_cpu_below_percent, idle_for_minutes) values ('cs101', 2, 5, 30)`.execute(
      store.db,
    );
    await sql`insert into vm_idle (cluster_id, vmid, idle_since, warned_at, kept_at) values ('lab', 300, 10, null, 20)`.execute(
      store.db,
    );
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(await store.usage.policy('cs101')).toEqual({
      classId: 'cs101',
      quotaHours: 2,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: null,
    });
    expect(await store.usage.idle('lab', 300)).toEqual({
      clusterId: 'lab',
      vmid: 300,
      idleSince: 10,
      warnedAt: null,
      keptAt: 20,
      keepsUsed: 0,
    });
    await store.close();
  });

  it('bring a store left behind by an older version to the latest schema on open', async () => {
    const url = await freshUrl(engine);
    const old = await openStore(url, { migrate: false });
    expect(
      (await createMigrator(old.db as never, engine).migrateTo('0006-usage-and-time-policies')).error,
    ).toBeUndefined();
    await old.close();
    const store = await openStore(url);
    const executed = await sql<{ name: string }>`select name from lab_migrations order by name`.execute(store.db);
    expect(executed.rows.map((r) => r.name).slice(-9)).toEqual([
      '0013-idle-in-sessions',
      '0014-inventory-without-last-updated-index',
      '0015-vm-snapshots',
      '0016-idle-signals-and-quota-top-ups',
      '0017-class-terms',
      '0018-lab-definitions',
      '0019-class-networks',
      '0020-class-pinned-nodes',
      '0021-inventory-sync-keys',
    ]);
    expect(await tableNames(store)).toContain('link_codes');
    await store.close();
  });

  it('run a migration numbered below one the store applied already (0014 after 0017) on open', async () => {
    const url = await freshUrl(engine);
    const first = await openStore(url);
    // A store migrated by a version that had 0015–0017 but not 0014 yet.
    await sql`delete from lab_migrations where name = '0014-inventory-without-last-updated-index'`.execute(first.db);
    await sql`create index vm_inventory_last_updated on vm_inventory (last_updated)`.execute(first.db);
    await first.close();
    const store = await openStore(url);
    const executed = await sql<{ name: string }>`select name from lab_migrations`.execute(store.db);
    expect(executed.rows.map((r) => r.name)).toContain('0014-inventory-without-last-updated-index');
    const names =
      engine === 'sqlite'
        ? (
            await sql<{
              name: string;
            }>`select name from sqlite_master where type = 'index' and tbl_name = 'vm_inventory'`.execute(store.db)
          ).rows
        : (
            await sql<{
              name: string;
            }>`select indexname as name from pg_indexes where tablename = 'vm_inventory'`.execute(store.db)
          ).rows;
    expect(names.map((r) => r.name)).not.toContain('vm_inventory_last_updated');
    expect(names.map((r) => r.name)).toContain('vm_inventory_status');
    await store.close();
  });

  it('unlinks, and audits, every account a join race linked to one person on one platform', async () => {
    const url = await freshUrl(engine);
    const store = await openStore(url, { migrate: false });
    const migrator = createMigrator(store.db as never, engine);
    expect((await migrator.migrateTo('0008-console-grants')).error).toBeUndefined();
    await sql`insert into people (id, username, display_name, role, created_at) values (1, 'alice', 'Alice', 'student', 1), (2, 'bob', 'Bob', 'student', 1)`.execute(
      store.db,
    );
    await sql`insert into identities (person_id, platform, external_id) values (1, 'slack', 'U1'), (1, 'slack', 'U2'), (1, 'discord', '9'), (2, 'slack', 'U3')`.execute(
      store.db,
    );
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(await store.classes.identitiesOf(1)).toEqual([{ personId: 1, platform: 'discord', externalId: '9' }]);
    expect(await store.classes.identitiesOf(2)).toEqual([{ personId: 2, platform: 'slack', externalId: 'U3' }]);
    const removed = await store.audit.list({ action: 'identity.unlink' });
    expect(removed.map((a) => a.details.externalId).sort()).toEqual(['U1', 'U2']);
    await expect(
      store.classes.linkIdentity({ personId: 2, platform: 'slack', externalId: 'U4' }),
    ).rejects.toMatchObject({ code: 'LAB_STORE_PERSON_LINKED' });
    await store.close();
  });

  it('runs each migration once when six processes open a new database at once', async () => {
    const url = await freshUrl(engine);
    const fixture = resolve(import.meta.dirname, 'fixtures/open-and-close.mjs');
    const codes = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(
        () =>
          new Promise<{ code: number | null; stderr: string }>((r) => {
            const child = spawn(process.execPath, [fixture, url], { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (c) => (stderr += c));
            child.on('exit', (code) => r({ code, stderr }));
          }),
      ),
    );
    for (const c of codes) expect(c.code, c.stderr).toBe(0);
    const store = await openStore(url, { migrate: false });
    const executed = await sql<{ name: string }>`select name from lab_migrations`.execute(store.db);
    expect(executed.rows.map((r) => r.name)).toEqual([
      '0001-initial-schema',
      '0002-deployment-notify-and-nonces',
      '0003-people-email-and-invites',
      '0004-ssh-keys-and-class-versions',
      '0005-class-schedules',
      '0006-usage-and-time-policies',
      '0007-keeps-and-idle-warning',
      '0008-console-grants',
      '0009-claims-and-lock-heartbeats',
      '0011-web-sessions',
      '0012-link-codes',
      '0013-idle-in-sessions',
      '0014-inventory-without-last-updated-index',
      '0015-vm-snapshots',
      '0016-idle-signals-and-quota-top-ups',
      '0017-class-terms',
      '0018-lab-definitions',
      '0019-class-networks',
      '0020-class-pinned-nodes',
      '0021-inventory-sync-keys',
    ]);
    await store.close();
  }, 60_000);
});

describe('opening a SQLite store at the latest schema', () => {
  it('neither waits for nor takes the write lock another process holds', async () => {
    const url = await freshUrl('sqlite');
    await (await openStore(url)).close();
    const writer = new Sqlite(url.slice('sqlite:'.length));
    writer.pragma('journal_mode = WAL');
    writer.exec('begin immediate');
    try {
      const store = await openStore(url, { busyTimeoutMs: 100 });
      expect(await store.inventory.count()).toBe(0);
      await store.close();
    } finally {
      writer.exec('rollback');
      writer.close();
    }
  });
});

describe('store URLs', () => {
  it('accept sqlite paths and postgres URLs', () => {
    expect(parseStoreUrl('sqlite:./lab.db')).toEqual({ engine: 'sqlite', path: './lab.db' });
    expect(parseStoreUrl('sqlite:///var/lib/lab/lab.db')).toEqual({ engine: 'sqlite', path: '/var/lib/lab/lab.db' });
    expect(parseStoreUrl('postgresql://lab@db:5432/lab')).toEqual({
      engine: 'postgres',
      connectionString: 'postgresql://lab@db:5432/lab',
    });
  });

  it('refuse anything else, naming the key and hiding a password', () => {
    expect(() => parseStoreUrl('mysql://root:hunter2@db/lab')).toThrow(ConfigError);
    expect(() => parseStoreUrl('mysql://root:hunter2@db/lab')).toThrow(
      "config key 'store': 'mysql://root:…@db/lab' is not a store URL; use sqlite:./lab.db or postgres://user@host:5432/db",
    );
    expect(() => parseStoreUrl('sqlite:')).toThrow('names no file');
  });

  it('never show a PostgreSQL password, whatever characters it holds', async () => {
    const passwords = [
      'plain-Secret9',
      'p@ss@Word9',
      'pa:ss:Word9',
      'pa%40ss%2FWord9',
      'pa%3Ass%25Word9',
      'pa/ss@Word9',
      '12/ss@Word9',
      'p?ss@Word9',
      'p#ss@Word9',
    ];
    for (const password of passwords) {
      const url = `postgres://lab:${password}@127.0.0.1:1/lab?sslpassword=Key-Pass9`;
      const error = await openStore(url).catch((e: unknown) => e);
      expect(error instanceof ConfigError || error instanceof StoreUnavailableError, password).toBe(true);
      const shown = `${(error as Error).message} ${JSON.stringify(error)} ${redactStoreUrl(url)}`;
      for (const part of [password, decodeURIComponent(password), 'ss@Word9', 'Word9', 'Key-Pass9'])
        expect(shown, password).not.toContain(part);
    }
    const encoded = (await openStore('postgres://lab:p%40ss%2FWord9@127.0.0.1:1/lab').catch(
      (e: unknown) => e,
    )) as Error;
    expect(encoded.message).toMatch(/^cannot open the store at postgres:\/\/lab:…@127\.0\.0\.1:1\/lab: .*ECONNREFUSED/);
    const ambiguous = (await openStore('postgres://lab:12/ss@Word9@127.0.0.1:1/lab').catch((e: unknown) => e)) as Error;
    expect(ambiguous).toBeInstanceOf(ConfigError);
    expect(ambiguous.message).toBe(
      "config key 'store': the PostgreSQL URL cannot be read unambiguously; percent-encode '@', '/', '?', '#' and ':' in the user name and password (@ is %40, / is %2F)",
    );
    expect(redactStoreUrl('sqlite:./lab.db')).toBe('sqlite:./lab.db');
    expect(redactStoreUrl('postgresql://lab@db:5432/lab?sslmode=require')).toBe(
      'postgresql://lab@db:5432/lab?sslmode=require',
    );
  });

  it('report an unwritable SQLite path as StoreUnavailableError', async () => {
    const notADirectory = join(dir, 'plain-file');
    writeFileSync(notADirectory, '');
    const error = await openStore(`sqlite:${notADirectory}/lab.db`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(`${notADirectory} is not a directory`);
  });

  it('refuse a SQLite file in a directory that does not exist, creating it only when asked (lab init, lab db migrate)', async () => {
    const nested = join(dir, 'new', 'deeper');
    const refused = await openStore(`sqlite:${nested}/lab.db`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect((refused as Error).message).toBe(
      `cannot open the store at sqlite:${nested}/lab.db: the directory ${nested} does not exist; create it, or run lab db migrate (or lab init) which creates it; check the 'store' setting and that the database is running and writable`,
    );
    expect(existsSync(join(dir, 'new'))).toBe(false);
    const store = await openStore(`sqlite:${nested}/lab.db`, { createDirectories: true });
    await store.close();
    expect(existsSync(join(nested, 'lab.db'))).toBe(true);
  });

  it('refuse a SQLite path no directory can be made in (/proc) at once, instead of looping in mkdir', async () => {
    const missing = await openStore('sqlite:/proc/lab/lab.db').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StoreUnavailableError);
    expect((missing as StoreUnavailableError).code).toBe('LAB_STORE_UNAVAILABLE');
    expect((missing as Error).message).toMatch(/: the directory \/proc\/lab does not exist; /);
    const uncreatable = await openStore('sqlite:/proc/lab/lab.db', { createDirectories: true }).catch(
      (e: unknown) => e,
    );
    expect(uncreatable).toBeInstanceOf(StoreUnavailableError);
    expect((uncreatable as Error).message).toMatch(/: cannot create the directory \/proc\/lab \(E[A-Z]+\); /);
  });

  it('report an unreachable PostgreSQL at open, without hanging', async () => {
    const error = await openStore('postgres://postgres:secret-pw@127.0.0.1:1/nothing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /^cannot open the store at postgres:\/\/postgres:…@127\.0\.0\.1:1\/nothing: .*ECONNREFUSED/,
    );
    expect((error as Error).message).not.toContain('secret-pw');
  });
});

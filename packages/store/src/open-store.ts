import type BetterSqlite3 from 'better-sqlite3';
import type Pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { StoreUnavailableError } from '@lab/proxmox-sdk/errors';
import type { Database } from './database.js';
import { ImmediateSqliteDialect } from './immediate-sqlite-dialect.js';
import { loadDriver } from './load-driver.js';
import { namedStatementPool } from './named-statement-pool.js';
import { StoreDriverMissingError } from './store-driver-missing-error.js';
import { KyselyStore } from './kysely-store.js';
import { isSchemaCurrent, migrateToLatest } from './migrations/migrations.js';
import { redactStoreUrl, scrubStorePassword } from './redact-store-url.js';
import { ensureSqliteDirectory } from './sqlite-directory.js';
import { parseStoreUrl } from './store-url.js';

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Run pending migrations on open (under the migrator's lock). @defaultValue `true` */
  migrate?: boolean;
  /** SQLite: how long a writer waits for another process's lock. @defaultValue `5000` */
  busyTimeoutMs?: number;
  /** PostgreSQL: connections in the pool. @defaultValue `10` */
  poolSize?: number;
  /**
   * SQLite: create the file's missing directories (`lab init`, `lab db migrate`). Otherwise a
   * missing directory is a `StoreUnavailableError` saying so. @defaultValue `false`
   */
  createDirectories?: boolean;
  /**
   * PostgreSQL: send short reads as named statements, prepared once per connection (see
   * `namedStatementPool`). @defaultValue `true`
   */
  namedStatements?: boolean;
  /** PostgreSQL: told about idle connections the server dropped (they are replaced). */
  onConnectionError?: (error: Error) => void;
}

const INT8_OID = 20;

/**
 * Opens the store at `url`: `sqlite:./lab.db` (WAL mode and a busy timeout, so several processes
 * can share the file) or `postgres://user@host:5432/db`. Migrates to the latest schema unless told not to
 * (a store already there is checked with one read, without the migrator's lock).
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<KyselyStore> {
  const location = parseStoreUrl(url);
  const shownUrl = redactStoreUrl(url);
  const reasonOf = (error: unknown): string => scrubStorePassword((error as Error)?.message || String(error), url);
  let db: Kysely<Database>;
  if (location.engine === 'sqlite') {
    try {
      db = openSqlite(location.path, options);
    } catch (error) {
      if (error instanceof StoreDriverMissingError) throw error;
      throw new StoreUnavailableError(shownUrl, reasonOf(error), { cause: error });
    }
  } else {
    // Loaded only for PostgreSQL, so SQLite users (and every CLI cold start) skip it.
    const pg = loadDriver<typeof Pg>('pg', 'PostgreSQL');
    const pool = new pg.Pool({
      connectionString: location.connectionString,
      max: options.poolSize ?? 10,
      // Epoch-millisecond columns are bigint; they fit a JS number.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          (oid === INT8_OID
            ? Number
            : pg.types.getTypeParser(oid, format as 'text')) as unknown) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection the server drops (restart, failover) must not crash the process; the pool
    // replaces it on the next query.
    pool.on('error', (error) => options.onConnectionError?.(error));
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: options.namedStatements === false ? pool : namedStatementPool(pool) }),
    });
  }
  const store = new KyselyStore(db, location.engine, () => db.destroy());
  try {
    // A current schema (every open but the first after an upgrade) costs one read; only a store
    // that is behind goes through the migrator and its lock, which checks again under the lock.
    if (options.migrate ?? true) {
      if (!(await isSchemaCurrent(db as Kysely<unknown>)))
        await migrateToLatest(db as Kysely<unknown>, location.engine);
    } else await sql`select 1`.execute(db); // fail now, not at the first query, when the database is unreachable
  } catch (error) {
    await db.destroy();
    throw new StoreUnavailableError(shownUrl, reasonOf(error), { cause: error });
  }
  return store;
}

function openSqlite(path: string, options: OpenStoreOptions): Kysely<Database> {
  if (path !== ':memory:') ensureSqliteDirectory(path, options.createDirectories ?? false);
  const Sqlite = loadDriver<typeof BetterSqlite3>('better-sqlite3', 'SQLite');
  const sqlite = new Sqlite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
}

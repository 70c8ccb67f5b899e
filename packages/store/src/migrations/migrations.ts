import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Engine } from '../database.js';
import { initialSchema } from './0001-initial-schema.js';
import { deploymentNotifyAndNonces } from './0002-deployment-notify-and-nonces.js';
import { peopleEmailAndInvites } from './0003-people-email-and-invites.js';
import { sshKeysAndClassVersions } from './0004-ssh-keys-and-class-versions.js';
import { classSchedules } from './0005-class-schedules.js';
import { usageAndTimePolicies } from './0006-usage-and-time-policies.js';
import { keepsAndIdleWarning } from './0007-keeps-and-idle-warning.js';
import { consoleGrants } from './0008-console-grants.js';
import { claimsAndLockHeartbeats } from './0009-claims-and-lock-heartbeats.js';
import { webSessions } from './0011-web-sessions.js';
import { linkCodes } from './0012-link-codes.js';
import { idleInSessions } from './0013-idle-in-sessions.js';
import { inventoryWithoutLastUpdatedIndex } from './0014-inventory-without-last-updated-index.js';
import { vmSnapshots } from './0015-vm-snapshots.js';
import { idleSignalsAndQuotaTopUps } from './0016-idle-signals-and-quota-top-ups.js';
import { classTerms } from './0017-class-terms.js';
import { labDefinitions } from './0018-lab-definitions.js';
import { classNetworks } from './0019-class-networks.js';
import { classPinnedNodes } from './0020-class-pinned-nodes.js';
import { inventorySyncKeys } from './0021-inventory-sync-keys.js';

/** Every migration, in order; names sort in the order they run. */
function allMigrations(engine: Engine): Record<string, Migration> {
  return {
    '0001-initial-schema': initialSchema(engine),
    '0002-deployment-notify-and-nonces': deploymentNotifyAndNonces(),
    '0003-people-email-and-invites': peopleEmailAndInvites(),
    '0004-ssh-keys-and-class-versions': sshKeysAndClassVersions(),
    '0005-class-schedules': classSchedules(engine),
    '0006-usage-and-time-policies': usageAndTimePolicies(),
    '0007-keeps-and-idle-warning': keepsAndIdleWarning(),
    '0008-console-grants': consoleGrants(),
    '0009-claims-and-lock-heartbeats': claimsAndLockHeartbeats(),
    '0011-web-sessions': webSessions(),
    '0012-link-codes': linkCodes(),
    '0013-idle-in-sessions': idleInSessions(),
    '0014-inventory-without-last-updated-index': inventoryWithoutLastUpdatedIndex(),
    '0015-vm-snapshots': vmSnapshots(),
    '0016-idle-signals-and-quota-top-ups': idleSignalsAndQuotaTopUps(engine),
    '0017-class-terms': classTerms(),
    '0018-lab-definitions': labDefinitions(),
    '0019-class-networks': classNetworks(),
    '0020-class-pinned-nodes': classPinnedNodes(),
    '0021-inventory-sync-keys': inventorySyncKeys(),
  };
}

/** The newest migration's name: a store that has applied it is at the latest schema. */
export const LATEST_MIGRATION: string = Object.keys(allMigrations('sqlite')).sort().at(-1)!;

class InCodeMigrationProvider implements MigrationProvider {
  constructor(private readonly engine: Engine) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(allMigrations(this.engine));
  }
}

/** A kysely `Migrator` over the store's migrations (it locks, so two processes never race). */
export function createMigrator(db: Kysely<unknown>, engine: Engine): Migrator {
  return new Migrator({
    db,
    provider: new InCodeMigrationProvider(engine),
    migrationTableName: 'lab_migrations',
    migrationLockTableName: 'lab_migrations_lock',
    // Numbers are handed out to parallel work ahead of time, so a store may have applied a later
    // one (0015) before an earlier one (0014) existed: that one then runs, instead of the store
    // refusing to open.
    allowUnorderedMigrations: true,
  });
}

/**
 * Whether the store has applied every migration (not only {@link LATEST_MIGRATION}: an earlier
 * number may come after a later one, see `createMigrator`): one read, no lock, so opening a current
 * store neither waits for nor blocks a writer. Any failure (no migration table yet) reads as "not
 * current" and leaves the answer to the migrator.
 */
export async function isSchemaCurrent(db: Kysely<unknown>): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from lab_migrations`.execute(db);
    const applied = new Set(rows.map((r) => r.name));
    return Object.keys(allMigrations('sqlite')).every((name) => applied.has(name));
  } catch {
    return false;
  }
}

/**
 * Runs every pending migration; throws with the failing migration's name. On PostgreSQL kysely
 * holds an advisory lock. On SQLite kysely takes no lock and no transaction, so the whole run is
 * wrapped in `BEGIN IMMEDIATE … COMMIT` on the store's single connection: a second process waits
 * for the write lock, then finds the migrations done.
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine): Promise<MigrationResultSet> {
  if (engine !== 'sqlite') return checked(await createMigrator(db, engine).migrateToLatest());
  await sql`begin immediate`.execute(db);
  let result: MigrationResultSet;
  try {
    result = await createMigrator(db, engine).migrateToLatest();
  } catch (error) {
    await sql`rollback`.execute(db);
    throw error;
  }
  if (result.error) {
    await sql`rollback`.execute(db);
    return checked(result);
  }
  await sql`commit`.execute(db);
  return result;
}

function checked(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `store migration '${failed}' failed: ${result.error instanceof Error ? result.error.message : JSON.stringify(result.error)}`,
      {
        cause: result.error,
      },
    );
  }
  return result;
}

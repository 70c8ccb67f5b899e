import type { Kysely, Migration } from 'kysely';

/** One-time browser console links (`/myvm console`), stored by the hash of their token. */
export function consoleGrants(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('console_grants')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('vmid', 'integer', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('platform_user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('session_max_ms', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('console_grants_expires').on('console_grants').column('expires_at').execute();
      await db.schema.createIndex('console_grants_person').on('console_grants').column('person_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('console_grants').ifExists().execute();
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/** Where a deployment's progress is shown (to finish it after a restart), and single-use keys. */
export function deploymentNotifyAndNonces(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('deployments').addColumn('notify', 'text').execute();
      await db.schema
        .createTable('nonces')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('payload', 'text')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('nonces_expires_at').on('nonces').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('nonces').ifExists().execute();
      await db.schema.alterTable('deployments').dropColumn('notify').execute();
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/**
 * One-time codes that link a chat account to a person signed in on the web portal (`/lab link-me`),
 * stored by their hash; and the index the teacher grid reads an audit entry per VM by.
 */
export function linkCodes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('link_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('used_by', 'text')
        .execute();
      await db.schema.createIndex('link_codes_person').on('link_codes').column('person_id').execute();
      await db.schema.createIndex('link_codes_expires').on('link_codes').column('expires_at').execute();
      await db.schema.createIndex('audit_log_target_at').on('audit_log').columns(['target', 'at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('audit_log_target_at').ifExists().execute();
      await db.schema.dropTable('link_codes').ifExists().execute();
    },
  };
}

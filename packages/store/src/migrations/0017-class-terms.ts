import type { Kysely, Migration } from 'kysely';

/** The end of a class's term: its last day, the grace period, the destroy confirmation and the archive mark. */
export function classTerms(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('class_terms')
        .addColumn('class_id', 'text', (c) => c.primaryKey().references('classes.id').onDelete('cascade'))
        .addColumn('ends_on', 'text')
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('grace_days', 'integer', (c) => c.notNull())
        .addColumn('destroy_confirmed_by', 'text')
        .addColumn('destroy_confirmed_at', 'bigint')
        .addColumn('archived_at', 'bigint')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('class_terms').ifExists().execute();
    },
  };
}

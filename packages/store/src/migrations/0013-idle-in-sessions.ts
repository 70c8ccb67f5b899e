import type { Kysely, Migration } from 'kysely';

/** Per class: whether idle warnings and stops also happen during scheduled sessions (off by default). */
export function idleInSessions(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('class_time_policies')
        .addColumn('idle_in_sessions', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('class_time_policies').dropColumn('idle_in_sessions').execute();
    },
  };
}

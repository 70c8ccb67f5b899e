import type { Kysely, Migration } from 'kysely';

/** Per class: keeps allowed per session and the idle warning delay; per VM: keeps used since the last session boundary. */
export function keepsAndIdleWarning(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // One column per ALTER TABLE: SQLite adds only one at a time.
      await db.schema
        .alterTable('class_time_policies')
        .addColumn('keeps_per_session', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.alterTable('class_time_policies').addColumn('idle_warn_minutes', 'integer').execute();
      await db.schema
        .alterTable('vm_idle')
        .addColumn('keeps_used', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('vm_idle').dropColumn('keeps_used').execute();
      await db.schema.alterTable('class_time_policies').dropColumn('idle_warn_minutes').execute();
      await db.schema.alterTable('class_time_policies').dropColumn('keeps_per_session').execute();
    },
  };
}

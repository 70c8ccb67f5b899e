import type { Kysely, Migration } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Per class: the idle signals besides CPU (nobody logged in, an open console, never connected);
 * per student: quota top-ups, each applied once by its idempotency key.
 */
export function idleSignalsAndQuotaTopUps(engine: Engine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('class_time_policies')
        .addColumn('idle_users', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('class_time_policies')
        .addColumn('console_never_idle', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.alterTable('class_time_policies').addColumn('never_connected_minutes', 'integer').execute();
      const table = db.schema.createTable('quota_top_ups');
      await (
        engine === 'postgres'
          ? table.addColumn('id', 'serial', (c) => c.primaryKey())
          : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      )
        .addColumn('class_id', 'text', (c) => c.notNull().references('classes.id').onDelete('cascade'))
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('hours', 'double precision', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('quota_top_ups_class_person')
        .on('quota_top_ups')
        .columns(['class_id', 'person_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('quota_top_ups').ifExists().execute();
      await db.schema.alterTable('class_time_policies').dropColumn('never_connected_minutes').execute();
      await db.schema.alterTable('class_time_policies').dropColumn('console_never_idle').execute();
      await db.schema.alterTable('class_time_policies').dropColumn('idle_users').execute();
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/** A class's lab definition: the roles (VMs) each student gets, as JSON, and the network choice. */
export function labDefinitions(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('class_labs')
        .addColumn('class_id', 'text', (c) => c.primaryKey().references('classes.id').onDelete('cascade'))
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('network_mode', 'text', (c) => c.notNull())
        .addColumn('network_zone', 'text')
        .addColumn('internet', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('class_labs').ifExists().execute();
    },
  };
}

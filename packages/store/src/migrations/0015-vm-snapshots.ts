import type { Kysely, Migration } from 'kysely';

/**
 * Student snapshots: per class, how many snapshots a student may keep per VM (`max_snapshots`,
 * 3 by default, 0 = no limit); per VM, how many snapshots it had when the lab last looked
 * (`snapshots`, null = not known yet), for `/lab status`.
 */
export function vmSnapshots(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('class_time_policies')
        .addColumn('max_snapshots', 'integer', (c) => c.notNull().defaultTo(3))
        .execute();
      await db.schema.alterTable('vm_inventory').addColumn('snapshots', 'integer').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('vm_inventory').dropColumn('snapshots').execute();
      await db.schema.alterTable('class_time_policies').dropColumn('max_snapshots').execute();
    },
  };
}

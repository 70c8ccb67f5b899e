import type { Kysely, Migration } from 'kysely';

/** The nodes an admin pinned a class's VMs to (`class pin`): a comma-separated list, null for any node. */
export function classPinnedNodes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('classes').addColumn('pinned_nodes', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('classes').dropColumn('pinned_nodes').execute();
    },
  };
}

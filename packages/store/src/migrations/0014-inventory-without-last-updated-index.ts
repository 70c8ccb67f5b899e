import type { Kysely, Migration } from 'kysely';

/**
 * Drops the index on `vm_inventory.last_updated`: no query reads by it, and every sync sets
 * `last_updated` on each listed VM of the cluster (`inventory.refreshListed`), so the index cost
 * an index entry removed and added per VM and sync (10,000 per cluster every 30 s at scale) for
 * nothing.
 */
export function inventoryWithoutLastUpdatedIndex(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('vm_inventory_last_updated').ifExists().execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.createIndex('vm_inventory_last_updated').on('vm_inventory').column('last_updated').execute();
    },
  };
}

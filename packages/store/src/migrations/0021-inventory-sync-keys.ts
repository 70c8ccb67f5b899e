import type { Kysely, Migration } from 'kysely';

/**
 * Each VM row's sync key (`vmSyncKey`: a hash of its listed fields), so a quick sync reads one
 * number per VM instead of each field. Null until the row is next written whole: the first quick
 * sync after the upgrade reads those rows whole, as a full sync does.
 */
export function inventorySyncKeys(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('vm_inventory').addColumn('sync_key', 'bigint').execute();
      // What a quick sync reads of each row (`inventory.listSyncKeys`), so it reads no row: a
      // usage reading changes none of these columns.
      await db.schema
        .createIndex('vm_inventory_sync')
        .on('vm_inventory')
        .columns(['cluster_id', 'vmid', 'sync_key', 'status', 'gone_at', 'ip', 'rdp_available', 'ssh_available'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('vm_inventory_sync').execute();
      await db.schema.alterTable('vm_inventory').dropColumn('sync_key').execute();
    },
  };
}

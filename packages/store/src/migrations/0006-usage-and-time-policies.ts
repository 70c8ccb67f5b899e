import { sql, type Kysely, type Migration } from 'kysely';

/** Class time policies (quota hours, running limits, idle thresholds), the ledger of VM running intervals and idle tracking. */
export function usageAndTimePolicies(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('class_time_policies')
        .addColumn('class_id', 'text', (c) => c.primaryKey().references('classes.id').onDelete('cascade'))
        .addColumn('quota_hours', 'real')
        .addColumn('max_running', 'integer')
        .addColumn('max_running_in_class', 'integer')
        .addColumn('idle_cpu_below_percent', 'real')
        .addColumn('idle_for_minutes', 'integer')
        .execute();
      await db.schema
        .createTable('vm_usage_intervals')
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('vmid', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addPrimaryKeyConstraint('vm_usage_intervals_pk', ['cluster_id', 'vmid', 'started_at'])
        .execute();
      await db.schema
        .createTable('vm_idle')
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('vmid', 'integer', (c) => c.notNull())
        .addColumn('idle_since', 'bigint')
        .addColumn('warned_at', 'bigint')
        .addColumn('kept_at', 'bigint')
        .addPrimaryKeyConstraint('vm_idle_pk', ['cluster_id', 'vmid'])
        .execute();
      // At most one open interval per VM, across processes.
      await db.schema
        .createIndex('vm_usage_one_open')
        .on('vm_usage_intervals')
        .columns(['cluster_id', 'vmid'])
        .unique()
        .where(sql.ref('ended_at'), 'is', null)
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('vm_idle').ifExists().execute();
      await db.schema.dropTable('vm_usage_intervals').ifExists().execute();
      await db.schema.dropTable('class_time_policies').ifExists().execute();
    },
  };
}

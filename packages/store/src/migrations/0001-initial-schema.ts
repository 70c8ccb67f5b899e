import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';
import type { Engine } from '../database.js';

/** The first schema: every table of the seeds, with the indexes their queries need. */
export function initialSchema(engine: Engine): Migration {
  const withId = <T extends string>(table: CreateTableBuilder<T, never>) =>
    engine === 'postgres'
      ? table.addColumn('id', 'serial', (c) => c.primaryKey())
      : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('clusters')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', notNull)
        .addColumn('url', 'text', notNull)
        .execute();

      await withId(db.schema.createTable('templates'))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('memory', 'integer', notNull)
        .addColumn('cores', 'integer', notNull)
        .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('updated_at', 'bigint', notNull)
        .execute();

      await db.schema
        .createTable('template_node_mappings')
        .addColumn('template_id', 'integer', (c) => c.notNull().references('templates.id').onDelete('cascade'))
        .addColumn('cluster_id', 'text', notNull)
        .addColumn('node', 'text', notNull)
        .addColumn('vmid', 'integer', notNull)
        .addPrimaryKeyConstraint('template_node_mappings_pk', ['template_id', 'cluster_id', 'node'])
        .execute();
      await db.schema
        .createIndex('template_node_mappings_location')
        .on('template_node_mappings')
        .columns(['cluster_id', 'node', 'vmid'])
        .execute();

      await db.schema
        .createTable('template_inventory')
        .addColumn('cluster_id', 'text', notNull)
        .addColumn('node', 'text', notNull)
        .addColumn('vmid', 'integer', notNull)
        .addColumn('name', 'text', notNull)
        .addColumn('is_replica', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('source_vmid', 'integer')
        .addColumn('source_node', 'text')
        .addColumn('is_class_template', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('class_id', 'text')
        .addColumn('last_verified_at', 'bigint')
        .addColumn('health', 'text', (c) => c.notNull().defaultTo('unknown'))
        .addColumn('vanished_at', 'bigint')
        .addPrimaryKeyConstraint('template_inventory_pk', ['cluster_id', 'node', 'vmid'])
        .execute();
      await db.schema.createIndex('template_inventory_name').on('template_inventory').column('name').execute();
      await db.schema.createIndex('template_inventory_class').on('template_inventory').column('class_id').execute();

      await withId(db.schema.createTable('people'))
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', notNull)
        .addColumn('role', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .execute();

      await db.schema
        .createTable('identities')
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('platform', 'text', notNull)
        .addColumn('external_id', 'text', notNull)
        .addPrimaryKeyConstraint('identities_pk', ['platform', 'external_id'])
        .execute();
      await db.schema.createIndex('identities_person').on('identities').column('person_id').execute();

      await db.schema
        .createTable('classes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', notNull)
        .addColumn('template_id', 'integer', (c) => c.references('templates.id').onDelete('set null'))
        .addColumn('owner_id', 'integer', (c) => c.references('people.id').onDelete('set null'))
        .addColumn('created_at', 'bigint', notNull)
        .execute();

      await db.schema
        .createTable('class_members')
        .addColumn('class_id', 'text', (c) => c.notNull().references('classes.id').onDelete('cascade'))
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('role', 'text', notNull)
        .addPrimaryKeyConstraint('class_members_pk', ['class_id', 'person_id'])
        .execute();
      await db.schema.createIndex('class_members_person').on('class_members').column('person_id').execute();

      await db.schema
        .createTable('vm_assignments')
        .addColumn('cluster_id', 'text', notNull)
        .addColumn('vmid', 'integer', notNull)
        .addColumn('person_id', 'integer', (c) => c.references('people.id').onDelete('set null'))
        .addColumn('class_id', 'text', (c) => c.references('classes.id').onDelete('set null'))
        .addColumn('role', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addPrimaryKeyConstraint('vm_assignments_pk', ['cluster_id', 'vmid'])
        .execute();
      await db.schema.createIndex('vm_assignments_person').on('vm_assignments').column('person_id').execute();
      await db.schema.createIndex('vm_assignments_class').on('vm_assignments').column('class_id').execute();

      await db.schema
        .createTable('vm_inventory')
        .addColumn('cluster_id', 'text', notNull)
        .addColumn('vmid', 'integer', notNull)
        .addColumn('name', 'text', notNull)
        .addColumn('node', 'text', notNull)
        .addColumn('status', 'text', notNull)
        .addColumn('ip', 'text')
        .addColumn('type', 'text', notNull)
        .addColumn('category', 'text', notNull)
        .addColumn('memory', 'bigint')
        .addColumn('cores', 'integer')
        .addColumn('disk_size', 'bigint')
        .addColumn('uptime', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('cpu_usage', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('memory_usage', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('is_template', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('rdp_available', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('ssh_available', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_updated', 'bigint', notNull)
        .addColumn('last_status_check', 'bigint')
        .addColumn('sync_error', 'text')
        .addColumn('gone_at', 'bigint')
        .addPrimaryKeyConstraint('vm_inventory_pk', ['cluster_id', 'vmid'])
        .execute();
      await db.schema.createIndex('vm_inventory_status').on('vm_inventory').column('status').execute();
      await db.schema.createIndex('vm_inventory_last_updated').on('vm_inventory').column('last_updated').execute();

      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('class_id', 'text', notNull)
        .addColumn('cluster_id', 'text', notNull)
        .addColumn('spec', 'text', notNull)
        .addColumn('status', 'text', notNull)
        .addColumn('created_by', 'text', notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('updated_at', 'bigint', notNull)
        .addColumn('finished_at', 'bigint')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('deployments_status').on('deployments').column('status').execute();
      await db.schema.createIndex('deployments_class').on('deployments').column('class_id').execute();

      await db.schema
        .createTable('deployment_items')
        .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
        .addColumn('name', 'text', notNull)
        .addColumn('kind', 'text', notNull)
        .addColumn('person_id', 'integer')
        .addColumn('node', 'text')
        .addColumn('vmid', 'integer')
        .addColumn('status', 'text', notNull)
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('updated_at', 'bigint', notNull)
        .addPrimaryKeyConstraint('deployment_items_pk', ['deployment_id', 'name'])
        .execute();

      await db.schema
        .createTable('sync_state')
        .addColumn('cluster_id', 'text', (c) => c.primaryKey())
        .addColumn('last_full_sync_at', 'bigint')
        .addColumn('last_quick_sync_at', 'bigint')
        .addColumn('last_success_at', 'bigint')
        .addColumn('consecutive_errors', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('next_attempt_at', 'bigint')
        .execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', notNull)
        .addColumn('expires_at', 'bigint', notNull)
        .execute();

      await withId(db.schema.createTable('audit_log'))
        .addColumn('at', 'bigint', notNull)
        .addColumn('actor', 'text', notNull)
        .addColumn('action', 'text', notNull)
        .addColumn('target', 'text', notNull)
        .addColumn('outcome', 'text', notNull)
        .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_log_actor').on('audit_log').column('actor').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'audit_log',
        'leases',
        'sync_state',
        'deployment_items',
        'deployments',
        'vm_inventory',
        'vm_assignments',
        'class_members',
        'classes',
        'identities',
        'people',
        'template_inventory',
        'template_node_mappings',
        'templates',
        'clusters',
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/**
 * The SDN objects the lab owns (class networks, issue 30): its simple zone and the VNet of each class
 * or student with its subnet. No two records share an id, a class-and-student, a CIDR in a cluster
 * or a tag in a zone, so two processes never reserve the same one. No foreign key to `classes`: the
 * record must outlive a class deleted before its networks, or the VNet would lose its owner.
 */
export function classNetworks(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sdn_objects')
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('object_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('zone', 'text', (c) => c.notNull())
        .addColumn('class_id', 'text')
        // '' for a class's own VNet and for a zone, so the unique key below holds (NULLs never clash).
        .addColumn('student', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text')
        .addColumn('gateway', 'text')
        .addColumn('tag', 'integer')
        .addColumn('snat', 'integer', (c) => c.notNull())
        .addColumn('dhcp', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('sdn_objects_pk', ['cluster_id', 'object_id'])
        .addUniqueConstraint('sdn_objects_owner', ['cluster_id', 'kind', 'class_id', 'student'])
        .addUniqueConstraint('sdn_objects_cidr', ['cluster_id', 'cidr'])
        .addUniqueConstraint('sdn_objects_tag', ['cluster_id', 'zone', 'tag'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('sdn_objects').ifExists().execute();
    },
  };
}

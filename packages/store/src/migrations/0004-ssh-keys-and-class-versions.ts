import type { Kysely, Migration } from 'kysely';

/** People's SSH public keys, class settings (cloud-init login scheme) and published base versions of a class. */
export function sshKeysAndClassVersions(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ssh_keys')
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ssh_keys_pk', ['person_id', 'fingerprint'])
        .execute();
      await db.schema
        .createTable('class_settings')
        .addColumn('class_id', 'text', (c) => c.primaryKey().references('classes.id').onDelete('cascade'))
        .addColumn('login_user', 'text')
        .addColumn('ipconfig0', 'text')
        .execute();
      await db.schema
        .createTable('class_base_versions')
        .addColumn('class_id', 'text', (c) => c.notNull().references('classes.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('source_vmid', 'integer')
        .addColumn('snapshot', 'text')
        .addColumn('note', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('class_base_versions_pk', ['class_id', 'version'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('class_base_versions').ifExists().execute();
      await db.schema.dropTable('class_settings').ifExists().execute();
      await db.schema.dropTable('ssh_keys').ifExists().execute();
    },
  };
}

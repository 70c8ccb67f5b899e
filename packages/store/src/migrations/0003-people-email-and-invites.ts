import type { Kysely, Migration } from 'kysely';

/** People get an email address; classes get invitations (stored by code hash) and their uses. */
export function peopleEmailAndInvites(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('people').addColumn('email', 'text').execute();
      await db.schema
        .createTable('invites')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('class_id', 'text', (c) => c.notNull().references('classes.id').onDelete('cascade'))
        .addColumn('created_by', 'integer', (c) => c.references('people.id').onDelete('set null'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('invites_class').on('invites').column('class_id').execute();
      await db.schema
        .createTable('invite_uses')
        .addColumn('code_hash', 'text', (c) => c.notNull().references('invites.code_hash').onDelete('cascade'))
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('used_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('invite_uses_pk', ['code_hash', 'person_id'])
        .execute();
      await db.schema.createIndex('invite_uses_person').on('invite_uses').column('person_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('invite_uses').ifExists().execute();
      await db.schema.dropTable('invites').ifExists().execute();
      await db.schema.alterTable('people').dropColumn('email').execute();
    },
  };
}

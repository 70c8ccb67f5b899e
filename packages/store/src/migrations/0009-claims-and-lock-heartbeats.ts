import { sql, type Kysely, type Migration } from 'kysely';

interface Before {
  identities: { person_id: number; platform: string; external_id: string };
  audit_log: { at: number; actor: string; action: string; target: string; outcome: string; details: string };
}

/**
 * One chat account per person per platform, enforced by the database: links a join race made twice
 * (two accounts on one roster name) are all removed — neither account can be trusted — and each
 * removal is audited, so the teacher approves the real student's join again. Adds the join requests
 * teachers approve, and the atomic counters behind rate limits.
 */
export function claimsAndLockHeartbeats(): Migration {
  return {
    async up(untyped: Kysely<unknown>) {
      const db = untyped as Kysely<Before>;
      const doubled = await db
        .selectFrom('identities')
        .select(['person_id', 'platform'])
        .groupBy(['person_id', 'platform'])
        .having(sql`count(*)`, '>', 1)
        .execute();
      for (const { person_id, platform } of doubled) {
        const rows = await db
          .selectFrom('identities')
          .select('external_id')
          .where('person_id', '=', person_id)
          .where('platform', '=', platform)
          .execute();
        await db.deleteFrom('identities').where('person_id', '=', person_id).where('platform', '=', platform).execute();
        for (const row of rows)
          await db
            .insertInto('audit_log')
            .values({
              at: Date.now(),
              actor: 'migration 0009',
              action: 'identity.unlink',
              target: `person ${person_id}`,
              outcome: 'ok',
              details: JSON.stringify({
                platform,
                externalId: row.external_id,
                reason: `${rows.length} ${platform} accounts were linked to one person (a join race); none is kept, the student joins again`,
              }),
            })
            .execute();
      }
      await untyped.schema
        .createIndex('identities_person_platform')
        .on('identities')
        .columns(['person_id', 'platform'])
        .unique()
        .execute();

      await untyped.schema
        .createTable('join_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('class_id', 'text', (c) => c.notNull().references('classes.id').onDelete('cascade'))
        .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .execute();
      await untyped.schema.createIndex('join_requests_class').on('join_requests').column('class_id').execute();

      await untyped.schema
        .createTable('rate_counters')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('rate_counters').ifExists().execute();
      await db.schema.dropTable('join_requests').ifExists().execute();
      await db.schema.dropIndex('identities_person_platform').ifExists().execute();
    },
  };
}

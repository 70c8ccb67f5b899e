import type { RateLimitRepository } from '@lab/proxmox-sdk/store';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.js';

/**
 * Rate-limit counters over kysely. A hit is one upsert that starts a new window or adds one to the
 * current one only below the limit (`on conflict … do update … where`), so parallel attempts from
 * any number of processes cannot count past it.
 */
export function rateLimitRepository(db: Kysely<Database>): RateLimitRepository {
  return {
    async hit(key, limit, windowMs, now) {
      const expired = now - windowMs;
      const row = await db
        .insertInto('rate_counters')
        .values({ key, window_start: now, count: 1 })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({
              window_start: sql`case when rate_counters.window_start <= ${expired} then ${now} else rate_counters.window_start end`,
              count: sql`case when rate_counters.window_start <= ${expired} then 1 else rate_counters.count + 1 end`,
            })
            .where(sql<boolean>`(rate_counters.window_start <= ${expired} or rate_counters.count < ${limit})`),
        )
        .returning('count')
        .executeTakeFirst();
      if (row) return { allowed: true, count: Number(row.count) };
      const current = await db.selectFrom('rate_counters').select('count').where('key', '=', key).executeTakeFirst();
      return { allowed: false, count: Number(current?.count ?? limit) };
    },
    async giveBack(key) {
      await db
        .updateTable('rate_counters')
        .set({ count: sql`count - 1` })
        .where('key', '=', key)
        .where('count', '>', 0)
        .execute();
    },
  };
}

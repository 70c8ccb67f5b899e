import { DuplicateNameError } from '@lab/proxmox-sdk/errors';
import type { NonceRepository } from '@lab/proxmox-sdk/store';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { read, rowSchemas as schemas } from '../row-schemas.js';

/** Single-use keys over kysely; each operation is one atomic statement. */
export function nonceRepository(db: Kysely<Database>): NonceRepository {
  const insertUnlessLive = async (
    key: string,
    payload: string | null,
    expiresAt: number,
    now: number,
  ): Promise<boolean> => {
    const rows = await db
      .insertInto('nonces')
      .values({ key, payload, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet((eb) => ({ payload: eb.ref('excluded.payload'), expires_at: eb.ref('excluded.expires_at') }))
          .where('nonces.expires_at', '<', now),
      )
      .returning('key')
      .execute();
    return rows.length === 1;
  };
  return {
    claim: (key, expiresAt, now) => insertUnlessLive(key, null, expiresAt, now),
    async put(key, payload, expiresAt, now) {
      if (!(await insertUnlessLive(key, JSON.stringify(payload ?? null), expiresAt, now)))
        throw new DuplicateNameError('one-time key', key);
    },
    async take(key, now) {
      const row = await db
        .deleteFrom('nonces')
        .where('key', '=', key)
        .returning(['payload', 'expires_at'])
        .executeTakeFirst();
      return row && row.expires_at >= now && row.payload !== null
        ? read(schemas.noncePayload, row.payload, `payload of one-time key ${key}`)
        : undefined;
    },
    async peek(key, now) {
      const row = await db
        .selectFrom('nonces')
        .select('payload')
        .where('key', '=', key)
        .where('expires_at', '>=', now)
        .executeTakeFirst();
      return row && row.payload !== null
        ? read(schemas.noncePayload, row.payload, `payload of one-time key ${key}`)
        : undefined;
    },
    async prune(now) {
      const result = await db.deleteFrom('nonces').where('expires_at', '<', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

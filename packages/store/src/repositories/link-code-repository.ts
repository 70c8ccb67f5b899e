import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { LinkCodeRecord, LinkCodeRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';
import type { InTransaction } from './in-transaction.js';

function codeOf(r: Selectable<Database['link_codes']>): LinkCodeRecord {
  return {
    codeHash: r.code_hash,
    personId: r.person_id,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    usedAt: r.used_at === null ? null : Number(r.used_at),
    usedBy: r.used_by,
  };
}

/** Link codes over kysely; a redemption is one guarded UPDATE, so only one caller wins. */
export function linkCodeRepository(db: Kysely<Database>, inTransaction: InTransaction): LinkCodeRepository {
  return {
    async create(code) {
      try {
        await inTransaction(async (trx) => {
          await trx
            .deleteFrom('link_codes')
            .where('person_id', '=', code.personId)
            .where('used_at', 'is', null)
            .execute();
          await trx
            .insertInto('link_codes')
            .values({
              code_hash: code.codeHash,
              person_id: code.personId,
              created_at: code.createdAt,
              expires_at: code.expiresAt,
              used_at: null,
              used_by: null,
            })
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new DuplicateNameError('link code', code.codeHash.slice(0, 8), { cause: error });
        if (isForeignKeyViolation(error)) throw new UnknownReferenceError('person', code.personId, { cause: error });
        throw error;
      }
    },
    async get(codeHash) {
      const row = await db.selectFrom('link_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      return row && codeOf(row);
    },
    async redeem(codeHash, usedBy, now) {
      const won = await db
        .updateTable('link_codes')
        .set({ used_at: now, used_by: usedBy })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>=', now)
        .returningAll()
        .executeTakeFirst();
      if (won) return { outcome: 'ok', code: codeOf(won) };
      const row = await db.selectFrom('link_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      if (!row) return { outcome: 'unknown' };
      return { outcome: row.used_at !== null ? 'used' : 'expired', code: codeOf(row) };
    },
    async prune(before) {
      const result = await db.deleteFrom('link_codes').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

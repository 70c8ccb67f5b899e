import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { ConsoleGrantRecord, ConsoleGrantRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';

function grantOf(r: Selectable<Database['console_grants']>): ConsoleGrantRecord {
  return {
    tokenHash: r.token_hash,
    personId: r.person_id,
    clusterId: r.cluster_id,
    vmid: r.vmid,
    platform: r.platform,
    platformUserId: r.platform_user_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    sessionMaxMs: r.session_max_ms,
    usedAt: r.used_at,
  };
}

/** Console links over kysely; a redemption is one guarded UPDATE, so only one caller wins. */
export function consoleGrantRepository(db: Kysely<Database>): ConsoleGrantRepository {
  return {
    async create(grant) {
      try {
        await db
          .insertInto('console_grants')
          .values({
            token_hash: grant.tokenHash,
            person_id: grant.personId,
            cluster_id: grant.clusterId,
            vmid: grant.vmid,
            platform: grant.platform,
            platform_user_id: grant.platformUserId,
            created_at: grant.createdAt,
            expires_at: grant.expiresAt,
            session_max_ms: grant.sessionMaxMs,
            used_at: null,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw new DuplicateNameError('console link', grant.tokenHash.slice(0, 8), { cause: error });
        if (isForeignKeyViolation(error)) throw new UnknownReferenceError('person', grant.personId, { cause: error });
        throw error;
      }
    },
    async get(tokenHash) {
      const row = await db
        .selectFrom('console_grants')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row && grantOf(row);
    },
    async redeem(tokenHash, now) {
      const won = await db
        .updateTable('console_grants')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>=', now)
        .returningAll()
        .executeTakeFirst();
      if (won) return { outcome: 'ok', grant: grantOf(won) };
      const row = await db
        .selectFrom('console_grants')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row) return { outcome: 'unknown' };
      return { outcome: row.used_at !== null ? 'used' : 'expired', grant: grantOf(row) };
    },
    async prune(before) {
      const result = await db.deleteFrom('console_grants').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

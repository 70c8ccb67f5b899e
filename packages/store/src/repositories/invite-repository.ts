import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { InviteRedemption, InviteRepository, JoinRequestRecord, JoinRequestStatus } from '@lab/proxmox-sdk/store';
import type { Kysely } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';
import { mappers } from '../row-mappers.js';
import type { InTransaction } from './in-transaction.js';

/** Thrown inside a redemption's transaction to undo it; carries the answer out. */
class Refused extends Error {
  constructor(readonly answer: InviteRedemption) {
    super(answer);
  }
}

const joinRequest = (row: Database['join_requests']): JoinRequestRecord => ({
  id: row.id,
  classId: row.class_id,
  personId: Number(row.person_id),
  platform: row.platform,
  externalId: row.external_id,
  codeHash: row.code_hash,
  status: row.status as JoinRequestStatus,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  decidedBy: row.decided_by,
  decidedAt: row.decided_at === null ? null : Number(row.decided_at),
});

/** Class invitations over kysely; a redemption is one transaction with a guarded counter. */
export function inviteRepository(db: Kysely<Database>, inTransaction: InTransaction): InviteRepository {
  return {
    async create(invite) {
      if (!(await db.selectFrom('classes').select('id').where('id', '=', invite.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', invite.classId);
      if (
        invite.createdBy !== null &&
        !(await db.selectFrom('people').select('id').where('id', '=', invite.createdBy).executeTakeFirst())
      )
        throw new UnknownReferenceError('person', invite.createdBy);
      try {
        const row = await db
          .insertInto('invites')
          .values({
            code_hash: invite.codeHash,
            class_id: invite.classId,
            created_by: invite.createdBy,
            created_at: invite.createdAt,
            expires_at: invite.expiresAt,
            max_uses: invite.maxUses,
            uses: 0,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return mappers.invite(row);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new DuplicateNameError('invite', invite.codeHash.slice(0, 8), { cause: error });
        throw error;
      }
    },
    async get(codeHash) {
      const row = await db.selectFrom('invites').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      return row && mappers.invite(row);
    },
    async listForClass(classId) {
      return (
        await db
          .selectFrom('invites')
          .selectAll()
          .where('class_id', '=', classId)
          .orderBy('created_at', 'desc')
          .orderBy('code_hash')
          .execute()
      ).map(mappers.invite);
    },
    async redeem(codeHash, personId, now) {
      try {
        return await inTransaction(async (tx) => {
          const invite = await tx
            .selectFrom('invites')
            .selectAll()
            .where('code_hash', '=', codeHash)
            .executeTakeFirst();
          if (!invite) return 'unknown';
          if (now > invite.expires_at) return 'expired';
          if (
            await tx
              .selectFrom('invite_uses')
              .select('person_id')
              .where('code_hash', '=', codeHash)
              .where('person_id', '=', personId)
              .executeTakeFirst()
          )
            return 'already-used';
          // The guard in the WHERE makes the counter safe against concurrent redemptions.
          const counted = await tx
            .updateTable('invites')
            .set((eb) => ({ uses: eb('uses', '+', 1) }))
            .where('code_hash', '=', codeHash)
            .where('uses', '<', invite.max_uses)
            .executeTakeFirst();
          if (Number(counted.numUpdatedRows) === 0) return 'used-up';
          try {
            await tx
              .insertInto('invite_uses')
              .values({ code_hash: codeHash, person_id: personId, used_at: now })
              .execute();
          } catch (error) {
            if (isUniqueViolation(error)) throw new Refused('already-used');
            if (isForeignKeyViolation(error)) throw new UnknownReferenceError('person', personId, { cause: error });
            throw error;
          }
          return 'ok';
        });
      } catch (error) {
        if (error instanceof Refused) return error.answer;
        throw error;
      }
    },
    async revoke(codeHash) {
      const result = await db.deleteFrom('invites').where('code_hash', '=', codeHash).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async requestJoin(request) {
      try {
        await db
          .insertInto('join_requests')
          .values({
            id: request.id,
            class_id: request.classId,
            person_id: request.personId,
            platform: request.platform,
            external_id: request.externalId,
            code_hash: request.codeHash,
            status: request.status,
            created_at: request.createdAt,
            expires_at: request.expiresAt,
            decided_by: request.decidedBy,
            decided_at: request.decidedAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateNameError('join request', request.id, { cause: error });
        if (isForeignKeyViolation(error)) {
          const klass = await db
            .selectFrom('classes')
            .select('id')
            .where('id', '=', request.classId)
            .executeTakeFirst();
          throw klass
            ? new UnknownReferenceError('person', request.personId)
            : new UnknownReferenceError('class', request.classId);
        }
        throw error;
      }
    },
    async joinRequest(id) {
      const row = await db.selectFrom('join_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row && joinRequest(row);
    },
    async joinRequests(filter = {}) {
      let q = db.selectFrom('join_requests').selectAll();
      if (filter.classId !== undefined) q = q.where('class_id', '=', filter.classId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      return (await q.orderBy('created_at').orderBy('id').execute()).map(joinRequest);
    },
    async decideJoin(id, decision, decidedBy, now) {
      const row = await db
        .updateTable('join_requests')
        .set({ status: decision, decided_by: decidedBy, decided_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('expires_at', '>=', now)
        .returningAll()
        .executeTakeFirst();
      return row && joinRequest(row);
    },
  };
}

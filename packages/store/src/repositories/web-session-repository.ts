import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { WebSessionRecord } from '@lab/proxmox-sdk';
import type { WebSessionRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';

function sessionOf(r: Selectable<Database['web_sessions']>): WebSessionRecord {
  return {
    idHash: r.id_hash,
    personId: r.person_id,
    issuer: r.issuer,
    subject: r.subject,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** Web sessions over kysely; every change is one guarded statement, so processes sharing the store agree. */
export function webSessionRepository(db: Kysely<Database>): WebSessionRepository {
  return {
    async create(session) {
      const row = {
        id_hash: session.idHash,
        person_id: session.personId,
        issuer: session.issuer,
        subject: session.subject,
        created_at: session.createdAt,
        last_seen_at: session.createdAt,
        expires_at: session.expiresAt,
        revoked_at: null,
      };
      try {
        await db.insertInto('web_sessions').values(row).execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw new DuplicateNameError('web session', session.idHash.slice(0, 8), { cause: error });
        if (isForeignKeyViolation(error)) throw new UnknownReferenceError('person', session.personId, { cause: error });
        throw error;
      }
      return sessionOf(row);
    },
    async get(idHash) {
      const row = await db.selectFrom('web_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      return row && sessionOf(row);
    },
    async touch(idHash, at) {
      const result = await db
        .updateTable('web_sessions')
        .set((eb) => ({
          last_seen_at: eb.case().when('last_seen_at', '<', at).then(at).else(eb.ref('last_seen_at')).end(),
        }))
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async revoke(idHash, at) {
      const result = await db
        .updateTable('web_sessions')
        .set({ revoked_at: at })
        .where('id_hash', '=', idHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async revokeForPerson(personId, at) {
      const result = await db
        .updateTable('web_sessions')
        .set({ revoked_at: at })
        .where('person_id', '=', personId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async prune(before) {
      const result = await db.deleteFrom('web_sessions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

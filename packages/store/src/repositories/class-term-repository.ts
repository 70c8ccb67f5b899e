import { UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { ClassTermRecord } from '@lab/proxmox-sdk';
import type { ClassTermRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.js';

function termOf(r: Selectable<Database['class_terms']>): ClassTermRecord {
  return {
    classId: r.class_id,
    endsOn: r.ends_on,
    timezone: r.timezone,
    graceDays: r.grace_days,
    destroyConfirmedBy: r.destroy_confirmed_by,
    destroyConfirmedAt: r.destroy_confirmed_at === null ? null : Number(r.destroy_confirmed_at),
    archivedAt: r.archived_at === null ? null : Number(r.archived_at),
  };
}

/** Class terms over kysely: one row per class, replaced whole. */
export function classTermRepository(db: Kysely<Database>): ClassTermRepository {
  return {
    async get(classId) {
      const row = await db.selectFrom('class_terms').selectAll().where('class_id', '=', classId).executeTakeFirst();
      return row && termOf(row);
    },
    async list() {
      return (await db.selectFrom('class_terms').selectAll().orderBy('class_id').execute()).map(termOf);
    },
    async save(record) {
      if (!(await db.selectFrom('classes').select('id').where('id', '=', record.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', record.classId);
      const values = {
        ends_on: record.endsOn,
        timezone: record.timezone,
        grace_days: record.graceDays,
        destroy_confirmed_by: record.destroyConfirmedBy,
        destroy_confirmed_at: record.destroyConfirmedAt,
        archived_at: record.archivedAt,
      };
      await db
        .insertInto('class_terms')
        .values({ class_id: record.classId, ...values })
        .onConflict((oc) => oc.column('class_id').doUpdateSet(values))
        .execute();
    },
  };
}

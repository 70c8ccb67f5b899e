import { UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { ClassScheduleRecord, ScheduleRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';
import { read, rowSchemas as schemas } from '../row-schemas.js';

const schedule = (r: Selectable<Database['class_schedules']>): ClassScheduleRecord => ({
  id: r.id,
  classId: r.class_id,
  days: r.days,
  startTime: r.start_time,
  endTime: r.end_time,
  timezone: r.timezone,
  startBeforeMin: r.start_before_min,
  skipDates: read(schemas.skipDates, r.skip_dates, `skipped dates of schedule ${r.id}`),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

/** Class schedules over kysely. */
export function scheduleRepository(db: Kysely<Database>): ScheduleRepository {
  return {
    async add(record) {
      if (!(await db.selectFrom('classes').select('id').where('id', '=', record.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', record.classId);
      try {
        const row = await db
          .insertInto('class_schedules')
          .values({
            class_id: record.classId,
            days: record.days,
            start_time: record.startTime,
            end_time: record.endTime,
            timezone: record.timezone,
            start_before_min: record.startBeforeMin,
            skip_dates: JSON.stringify(record.skipDates),
            created_by: record.createdBy,
            created_at: record.createdAt,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return schedule(row);
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new UnknownReferenceError('class', record.classId, { cause: error });
        throw error;
      }
    },
    async list(classId) {
      let query = db.selectFrom('class_schedules').selectAll();
      if (classId !== undefined) query = query.where('class_id', '=', classId);
      return (await query.orderBy('class_id').orderBy('id').execute()).map(schedule);
    },
    async remove(classId, id) {
      const result = await db
        .deleteFrom('class_schedules')
        .where('class_id', '=', classId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

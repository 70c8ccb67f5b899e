import type { ClassScheduleRecord, EpochMs } from '../store/records.js';
import { formatLocalTime } from './local-time.js';
import { InvalidScheduleError } from './schedule-errors.js';
import { describeSchedule, sessionDatesBetween } from './schedule-spec.js';
import { resolveLocalTime } from './zoned-time.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The daylight-saving rule of schedules, made explicit for a schedule about to be added, over the
 * sessions in `[from, to)`:
 * - a one-off session whose start or end does not exist (a DST gap: 02:30 on 2027-03-28 in
 *   Europe/Berlin) is refused — `InvalidScheduleError` naming the hour the clocks skip;
 * - a weekly session on the day of a gap starts or ends that much later (02:30 → 03:30), and has no
 *   session that day if its end is then not after its start; each such day gets a note;
 * - a time that happens twice (clocks go back) is its first occurrence, with a note.
 * @returns the notes, one per affected day, for the reply
 */
export function daylightSavingNotes(schedule: ClassScheduleRecord, from: EpochMs, to: EpochMs): string[] {
  const tz = schedule.timezone;
  const oneOff = DATE.test(schedule.days);
  const notes: string[] = [];
  for (const date of sessionDatesBetween(schedule, from, to)) {
    if (schedule.skipDates.includes(date)) continue;
    const start = resolveLocalTime(date, schedule.startTime, tz);
    const end = resolveLocalTime(date, schedule.endTime, tz);
    const said: string[] = [];
    for (const [which, time, r] of [
      ['starts', schedule.startTime, start],
      ['ends', schedule.endTime, end],
    ] as const) {
      if (r.kind === 'gap') {
        const jump = `the clocks jump from ${r.gapStart} to ${r.gapEnd}`;
        if (oneOff)
          throw new InvalidScheduleError({
            input: describeSchedule(schedule),
            reason: `${time} does not exist on ${date} in ${tz}: ${jump}; give times outside ${r.gapStart}-${r.gapEnd}`,
          });
        said.push(
          end.at <= start.at
            ? `on ${date} ${time} does not exist in ${tz} (${jump}), so there is no session that day`
            : `on ${date} ${time} does not exist in ${tz} (${jump}); that day the session ${which} at ${formatLocalTime(r.at, tz)}`,
        );
      } else if (r.kind === 'repeated') {
        said.push(
          `on ${date} ${time} happens twice in ${tz} (the clocks go back); the session ${which} at the first, ${formatLocalTime(r.at, tz)}`,
        );
      }
    }
    notes.push(...new Set(said));
  }
  return notes;
}

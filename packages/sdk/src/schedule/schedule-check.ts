import type { ClassScheduleRecord, EpochMs } from '../store/records.js';
import { daylightSavingNotes } from './schedule-dst.js';
import { InvalidScheduleError } from './schedule-errors.js';
import { describeSchedule, sessionsBetween, type ClassSession } from './schedule-spec.js';

const YEAR_MS = 366 * 86_400_000;

/** What {@link checkNewSchedule} found about a schedule about to be added. */
export interface ScheduleCheck {
  /** The schedule's session under way at `now`, or else its first after `now`. */
  next: ClassSession;
  /** The class's schedules with a session overlapping one of the new schedule's in the coming year. */
  overlapping: ClassScheduleRecord[];
  /** How daylight-saving changes in the coming year move or drop its sessions (`daylightSavingNotes`). */
  daylightSaving: string[];
}

/**
 * Checks a schedule before it is added to its class: one with no session in the coming year (a
 * past one-off date, a one-off date it also skips) → `InvalidScheduleError`; the class's other
 * schedules whose sessions overlap its sessions are returned so the caller can warn, and so are the
 * notes of the daylight-saving rule (a one-off session in a DST gap is refused).
 */
export function checkNewSchedule(
  candidate: ClassScheduleRecord,
  existing: readonly ClassScheduleRecord[],
  now: EpochMs,
): ScheduleCheck {
  const daylightSaving = daylightSavingNotes(candidate, now - 86_400_000, now + YEAR_MS);
  // A session under way counts: a one-off session added while it runs still starts the VMs.
  const mine = sessionsBetween(candidate, now, now + YEAR_MS);
  const [next] = mine;
  if (!next)
    throw new InvalidScheduleError({
      input: describeSchedule(candidate),
      reason: 'it has no session in the coming year; give a future date or weekdays, and do not skip its only date',
    });
  const overlapping = existing.filter((other) =>
    sessionsBetween(other, now, now + YEAR_MS).some((theirs) =>
      mine.some((ours) => ours.start < theirs.end && theirs.start < ours.end),
    ),
  );
  return { next, overlapping, daylightSaving };
}

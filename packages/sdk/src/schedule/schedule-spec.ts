import { Cron } from 'croner';
import type { ClassScheduleRecord, EpochMs } from '../store/records.js';
import { InvalidScheduleError } from './schedule-errors.js';
import { resolveLocalTime } from './zoned-time.js';

const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const DAYS = new RegExp(`^${DAY}(?:-${DAY})?(?:,${DAY}(?:-${DAY})?)*$`);
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The parts of `"mon,wed 09:00-10:30"`. */
export interface ScheduleSpec {
  days: string;
  startTime: string;
  endTime: string;
}

/** One occurrence of a schedule: VMs start at `warmupAt`, the session runs from `start` to `end`. */
export interface ClassSession {
  classId: string;
  scheduleId: number;
  warmupAt: EpochMs;
  start: EpochMs;
  end: EpochMs;
}

/**
 * Reads `"mon,wed 09:00-10:30"` (days as `mon`…`sun`, lists and ranges) or a one-off session
 * `"2026-12-18 13:00-16:00"` (a date instead of days); wall-clock times, the end later than the
 * start on the same day. Anything else → `InvalidScheduleError`.
 */
export function parseScheduleSpec(text: string): ScheduleSpec {
  const match = /^\s*(\S+)\s+(\d\d:\d\d)-(\d\d:\d\d)\s*$/.exec(text.toLowerCase());
  if (!match)
    throw new InvalidScheduleError({ input: text, reason: 'write it as days and times, e.g. "mon,wed 09:00-10:30"' });
  const [, days, startTime, endTime] = match as unknown as [string, string, string, string];
  if (DATE.test(days)) assertDate(days);
  else if (!DAYS.test(days))
    throw new InvalidScheduleError({
      input: text,
      reason: `'${days}' is not a list of days such as mon,wed or mon-fri, nor a date such as 2026-12-18`,
    });
  else assertNoRepeatedDay(text, days);
  if (!TIME.test(startTime) || !TIME.test(endTime))
    throw new InvalidScheduleError({ input: text, reason: 'times are HH:MM on a 24-hour clock' });
  if (endTime <= startTime)
    throw new InvalidScheduleError({ input: text, reason: 'the end must be later than the start on the same day' });
  return { days, startTime, endTime };
}

/** Reads a duration in minutes: `10m`, `1h`, `90` (minutes); → `InvalidScheduleError`. */
export function parseMinutes(text: string): number {
  const match = /^\s*(\d{1,4})\s*(m|min|h)?\s*$/i.exec(text);
  if (!match) throw new InvalidScheduleError({ input: text, reason: 'a duration is minutes or hours, e.g. 10m or 1h' });
  return Number(match[1]) * (match[2]?.toLowerCase() === 'h' ? 60 : 1);
}

/** Checks an IANA time zone name; → `InvalidScheduleError`. */
export function assertTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: timezone });
  } catch (error) {
    throw new InvalidScheduleError(
      { input: timezone, reason: 'it is not a time zone name such as Europe/Berlin' },
      { cause: error },
    );
  }
}

/** Checks a `YYYY-MM-DD` date that exists on the calendar (not `2026-02-30`); → `InvalidScheduleError`. */
export function assertDate(date: string): void {
  if (!DATE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
    throw new InvalidScheduleError({ input: date, reason: 'a date is written YYYY-MM-DD' });
  if (new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date)
    throw new InvalidScheduleError({ input: date, reason: `${date} is not a day of the calendar` });
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Refuses a list of days naming a day twice (`mon,mon`, `mon-wed,tue`). */
function assertNoRepeatedDay(input: string, days: string): void {
  const seen = new Set<string>();
  for (const part of days.split(',')) {
    const [from, to = from] = part.split('-') as [string, string?];
    const first = WEEKDAYS.indexOf(from);
    const last = WEEKDAYS.indexOf(to);
    if (last < first)
      throw new InvalidScheduleError({ input, reason: `write the range ${part} from the earlier day, e.g. mon-fri` });
    for (const day of WEEKDAYS.slice(first, last + 1)) {
      if (seen.has(day)) throw new InvalidScheduleError({ input, reason: `${day} is named twice; name each day once` });
      seen.add(day);
    }
  }
}

/** Runs at `time` on `days` (a weekly pattern), or once, at `time` on the date `days` (a one-off session). */
const cronAt = (time: string, days: string, timezone: string): Cron => {
  if (DATE.test(days)) return new Cron(`${days}T${time}:00`, { timezone, paused: true });
  const [h, m] = time.split(':').map(Number);
  return new Cron(`${m} ${h} * * ${days}`, { timezone, paused: true });
};

/** The local date (`YYYY-MM-DD`) of `at` in `timezone`. */
export function localDate(at: EpochMs, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(at));
}

/**
 * The local dates (`YYYY-MM-DD`) on which `schedule` has a session starting in `[from, to)`, skipped
 * dates included. Recurrence is croner's.
 */
export function sessionDatesBetween(schedule: ClassScheduleRecord, from: EpochMs, to: EpochMs): string[] {
  const starts = cronAt(schedule.startTime, schedule.days, schedule.timezone);
  const dates: string[] = [];
  let cursor = new Date(from);
  for (;;) {
    const start = starts.nextRun(cursor);
    if (!start || start.getTime() >= to) break;
    cursor = start;
    dates.push(localDate(start.getTime(), schedule.timezone));
  }
  return dates;
}

/**
 * The sessions of `schedule` whose warm-up or end lies in `[from, to)` or that span it, in order;
 * skipped dates left out. Croner finds the days; each session's start and end are its wall-clock
 * times on that day, resolved by the DST rule of `resolveLocalTime`: a time a DST gap skips is read
 * after the jump (02:30 → 03:30), a repeated time is its first occurrence, and a day on which the
 * end then is not after the start has no session.
 */
export function sessionsBetween(schedule: ClassScheduleRecord, from: EpochMs, to: EpochMs): ClassSession[] {
  const starts = cronAt(schedule.startTime, schedule.days, schedule.timezone);
  const warmupMs = schedule.startBeforeMin * 60_000;
  const sessions: ClassSession[] = [];
  // A session that began up to a day before `from` may still be running or just ended.
  let cursor = new Date(from - 86_400_000 - warmupMs);
  for (;;) {
    const next = starts.nextRun(cursor);
    if (!next || next.getTime() - warmupMs - 3_600_000 >= to) break;
    cursor = next;
    const date = localDate(next.getTime(), schedule.timezone);
    const start = resolveLocalTime(date, schedule.startTime, schedule.timezone).at;
    const end = resolveLocalTime(date, schedule.endTime, schedule.timezone).at;
    if (start - warmupMs >= to || end <= start || end < from || schedule.skipDates.includes(date)) continue;
    sessions.push({ classId: schedule.classId, scheduleId: schedule.id, warmupAt: start - warmupMs, start, end });
  }
  return sessions;
}

/** The first session of any of `schedules` that starts after `now`, or undefined. */
export function nextSession(
  schedules: readonly ClassScheduleRecord[],
  now: EpochMs,
  horizonMs = 400 * 86_400_000,
): ClassSession | undefined {
  let best: ClassSession | undefined;
  for (const schedule of schedules) {
    const starts = cronAt(schedule.startTime, schedule.days, schedule.timezone);
    let cursor = new Date(now);
    for (;;) {
      const start = starts.nextRun(cursor);
      if (!start || start.getTime() > now + horizonMs) break;
      cursor = start;
      if (schedule.skipDates.includes(localDate(start.getTime(), schedule.timezone))) continue;
      const [session] = sessionsBetween(schedule, start.getTime(), start.getTime() + 1);
      if (session && (!best || session.start < best.start)) best = session;
      break;
    }
  }
  return best;
}

/** The session of `schedules` in progress at `now` (warm-up included), or undefined. */
export function currentSession(schedules: readonly ClassScheduleRecord[], now: EpochMs): ClassSession | undefined {
  for (const schedule of schedules) {
    const hit = sessionsBetween(schedule, now, now + 1).find((s) => s.warmupAt <= now && now < s.end);
    if (hit) return hit;
  }
  return undefined;
}

/** A schedule as a person reads it: `mon,wed 09:00-10:30 Europe/Berlin (VMs start 10 min early; skips 2026-12-24)`. */
export function describeSchedule(s: ClassScheduleRecord): string {
  const extras = [
    `VMs start ${s.startBeforeMin} min early`,
    ...(s.skipDates.length ? [`skips ${s.skipDates.join(', ')}`] : []),
  ];
  return `${s.days} ${s.startTime}-${s.endTime} ${s.timezone} (${extras.join('; ')})`;
}

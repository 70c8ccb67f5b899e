import type { ClassScheduleRecord, EpochMs } from '../store/records.js';

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * A moment as people in `timezone` read it, with the zone named: `Tue 24 Nov 2026 04:51 CET`.
 * Messages to students and teachers use it instead of ISO UTC.
 */
export function formatLocalTime(at: EpochMs, timezone: string = 'UTC'): string {
  let format = formats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formats.set(timezone, format);
  }
  const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return `${part.weekday} ${part.day} ${part.month} ${part.year} ${part.hour}:${part.minute} ${part.timeZoneName}`;
}

/**
 * The time zone a class's times are shown in: its oldest schedule's, else `fallback` (the lab-wide
 * `timezone` of the configuration where there is one).
 */
export function classTimeZone(schedules: readonly ClassScheduleRecord[], fallback: string = 'UTC'): string {
  return [...schedules].sort((a, b) => a.id - b.id)[0]?.timezone ?? fallback;
}

import { LabError } from '../errors/lab-error.js';
import type { ClassTermRecord } from '../store/class-term-repository.js';
import type { EpochMs } from '../store/records.js';
import { resolveLocalTime } from './zoned-time.js';

const DAY_MS = 86_400_000;

/** Days a class's VMs are kept after its end before they may be destroyed, unless the class sets its own. */
export const DEFAULT_GRACE_DAYS = 14;

/** The days before a class's end on which its teachers are reminded of it. */
export const TERM_REMINDER_DAYS: readonly number[] = [14, 3, 1];

/** A class end date that cannot be used. */
export class InvalidEndDateError extends LabError {
  static override readonly code: string = 'LAB_INVALID_END_DATE';
  constructor(facts: { input: string; reason: string }) {
    super(InvalidEndDateError.code, `The end date '${facts.input}' cannot be used: ${facts.reason}.`, facts);
  }
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (`YYYY-MM-DD`) it is at `at` in `timezone`. */
export function dateIn(at: EpochMs, timezone: string): string {
  let format = dayFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(timezone, format);
  }
  return format.format(at);
}

/**
 * Reads a class's last day: `YYYY-MM-DD`, a date that exists, today or later in `timezone` (a class
 * cannot end in the past). Returns it as written.
 */
export function parseEndDate(input: string, timezone: string, now: EpochMs): string {
  const text = input.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw new InvalidEndDateError({ input, reason: 'write it as YYYY-MM-DD, e.g. 2027-06-30' });
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d)
    throw new InvalidEndDateError({ input, reason: 'there is no such day' });
  const today = dateIn(now, timezone);
  if (text < today)
    throw new InvalidEndDateError({
      input,
      reason: `it is in the past (today is ${today} in ${timezone}); give today or a later day`,
    });
  return text;
}

/** The day after `date` (`YYYY-MM-DD`). */
function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The moment a term ends: midnight after its last day, in its time zone; undefined without an end date. */
export function termEndsAt(term: Pick<ClassTermRecord, 'endsOn' | 'timezone'>): EpochMs | undefined {
  if (term.endsOn === null) return undefined;
  return resolveLocalTime(nextDay(term.endsOn), '00:00', term.timezone).at;
}

/** The moment a term's grace period ends (its VMs may be destroyed once confirmed); undefined without an end date. */
export function graceEndsAt(term: Pick<ClassTermRecord, 'endsOn' | 'timezone' | 'graceDays'>): EpochMs | undefined {
  const end = termEndsAt(term);
  return end === undefined ? undefined : end + term.graceDays * DAY_MS;
}

/** Where a class's term stands at `now`: running (no end or before it), ended, or past its grace period. */
export function termPhase(term: ClassTermRecord | undefined, now: EpochMs): 'running' | 'ended' | 'grace-over' {
  const end = term && termEndsAt(term);
  if (end === undefined || now < end) return 'running';
  return now < graceEndsAt(term!)! ? 'ended' : 'grace-over';
}

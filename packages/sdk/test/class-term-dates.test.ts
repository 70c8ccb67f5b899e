import { describe, expect, it } from 'vitest';
import { InvalidEndDateError } from '../src/errors/index.js';
import { graceEndsAt, termEndsAt } from '../src/index.js';
import { parseEndDate, termPhase } from '../src/schedule/term-dates.js';

const term = (endsOn: string | null, timezone = 'Europe/Berlin', graceDays = 14) => ({
  classId: 'cs101',
  endsOn,
  timezone,
  graceDays,
  destroyConfirmedBy: null,
  destroyConfirmedAt: null,
  archivedAt: null,
});

describe('a class end date', () => {
  it("ends the class at midnight after its last day in the class's time zone, summer time included", () => {
    expect(new Date(termEndsAt(term('2027-06-30'))!).toISOString()).toBe('2027-06-30T22:00:00.000Z');
    expect(new Date(termEndsAt(term('2027-01-29'))!).toISOString()).toBe('2027-01-29T23:00:00.000Z');
    expect(new Date(termEndsAt(term('2027-06-30', 'America/New_York'))!).toISOString()).toBe(
      '2027-07-01T04:00:00.000Z',
    );
    // The last day before the clocks go back: the day after starts at 00:00 CET.
    expect(new Date(termEndsAt(term('2027-10-30'))!).toISOString()).toBe('2027-10-30T22:00:00.000Z');
    expect(new Date(graceEndsAt(term('2027-01-29'))!).toISOString()).toBe('2027-02-12T23:00:00.000Z');
    expect(termEndsAt(term(null))).toBeUndefined();
  });

  it('is running before its end, ended during the grace period and past it after', () => {
    const t = term('2027-06-30', 'UTC', 14);
    const end = Date.parse('2027-07-01T00:00:00Z');
    expect(termPhase(t, end - 1)).toBe('running');
    expect(termPhase(t, end)).toBe('ended');
    expect(termPhase(t, end + 14 * 86_400_000 - 1)).toBe('ended');
    expect(termPhase(t, end + 14 * 86_400_000)).toBe('grace-over');
    expect(termPhase(undefined, end)).toBe('running');
    expect(termPhase(term(null), end)).toBe('running');
  });

  it('is read as YYYY-MM-DD, a real day, today or later where the class is', () => {
    // 23:30 UTC on 6 Dec is already 7 Dec in Berlin.
    const now = Date.parse('2026-12-06T23:30:00Z');
    expect(parseEndDate(' 2026-12-07 ', 'Europe/Berlin', now)).toBe('2026-12-07');
    expect(() => parseEndDate('2026-12-06', 'Europe/Berlin', now)).toThrow(
      /in the past \(today is 2026-12-07 in Europe\/Berlin\)/,
    );
    expect(parseEndDate('2026-12-06', 'UTC', now)).toBe('2026-12-06');
    for (const [input, reason] of [
      ['7.12.2026', 'write it as YYYY-MM-DD'],
      ['2027-02-29', 'there is no such day'],
      ['2027-13-01', 'there is no such day'],
    ] as const) {
      const error = (() => {
        try {
          parseEndDate(input, 'UTC', now);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidEndDateError);
      expect((error as InvalidEndDateError).message).toContain(reason);
      expect((error as InvalidEndDateError).code).toBe('LAB_INVALID_END_DATE');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { weekStart } from '../src/schedule/class-grid.js';

describe('weekStart', () => {
  it("is Monday 00:00 in the class's zone", () => {
    // Wednesday 2026-12-09 10:00 UTC.
    const wed = Date.UTC(2026, 11, 9, 10);
    expect(new Date(weekStart(wed, 'UTC')).toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(new Date(weekStart(wed, 'Europe/Berlin')).toISOString()).toBe('2026-12-06T23:00:00.000Z');
    // Monday 2026-12-07 04:00 UTC is still Sunday in New York.
    expect(new Date(weekStart(Date.UTC(2026, 11, 7, 4), 'America/New_York')).toISOString()).toBe(
      '2026-11-30T05:00:00.000Z',
    );
  });
});

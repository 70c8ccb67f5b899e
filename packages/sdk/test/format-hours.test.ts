import { describe, expect, it } from 'vitest';
import { formatHours } from '../src/index.js';

describe('formatHours', () => {
  it('says whole minutes under an hour, so a small quota and its usage agree', () => {
    expect(formatHours(0)).toBe('0 min');
    expect(formatHours(20_000)).toBe('under 1 min');
    expect(formatHours(0.01 * 3_600_000)).toBe('1 min');
    expect(formatHours(12 * 60_000)).toBe('12 min');
    expect(formatHours(59 * 60_000 + 10_000)).toBe('59 min');
  });

  it('says hours to one decimal from an hour on', () => {
    expect(formatHours(59 * 60_000 + 40_000)).toBe('1 h');
    expect(formatHours(90 * 60_000)).toBe('1.5 h');
    expect(formatHours(12.25 * 3_600_000)).toBe('12.3 h');
  });
});

import type { EpochMs } from '../store/records.js';

const HOUR_MS = 3_600_000;
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The offset of `timezone` from UTC at `at`, in milliseconds (`+3_600_000` for CET). */
export function utcOffsetMs(at: EpochMs, timezone: string): number {
  let format = offsetFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    offsetFormats.set(timezone, format);
  }
  const p: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = Object.fromEntries(
    format.formatToParts(at).map((part) => [part.type, Number(part.value)]),
  );
  const wall = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * How a wall-clock time on a date exists in a time zone:
 * - `exact`: once;
 * - `gap`: not at all (clocks jump forward over it, e.g. 02:30 on 2027-03-28 in Europe/Berlin);
 *   `at` is the same time on the clock before the jump, read after it (02:30 → 03:30), as Temporal's
 *   `compatible` disambiguation does, and `gapStart`/`gapEnd` are the wall times jumped over;
 * - `repeated`: twice (clocks go back over it); `at` is the first, `later` the second.
 */
export type LocalTimeResolution =
  | { kind: 'exact'; at: EpochMs }
  | { kind: 'gap'; at: EpochMs; gapStart: string; gapEnd: string }
  | { kind: 'repeated'; at: EpochMs; later: EpochMs };

/** Resolves the wall-clock `time` (`HH:MM`) on `date` (`YYYY-MM-DD`) in `timezone`; see {@link LocalTimeResolution}. */
export function resolveLocalTime(date: string, time: string, timezone: string): LocalTimeResolution {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [h, min] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, d, h, min);
  // Offsets change at most once a day: the ones a day before and after are every candidate.
  const before = utcOffsetMs(wall - 24 * HOUR_MS, timezone);
  const after = utcOffsetMs(wall + 24 * HOUR_MS, timezone);
  const valid = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((at) => wall - utcOffsetMs(at, timezone) === at)
    .sort((a, b) => a - b);
  if (valid.length === 2) return { kind: 'repeated', at: valid[0]!, later: valid[1]! };
  if (valid.length === 1) return { kind: 'exact', at: valid[0]! };
  // The clock jumped at the transition: from its wall time before the jump to the one after.
  const transition = findTransition(wall - before - 24 * HOUR_MS, wall - before + 24 * HOUR_MS, timezone);
  return {
    kind: 'gap',
    at: wall - before,
    gapStart: wallTimeOf(transition + before),
    gapEnd: wallTimeOf(transition + after),
  };
}

/** `HH:MM` of a wall-clock moment written as UTC milliseconds. */
function wallTimeOf(wallMs: number): string {
  const minutes = Math.floor(wallMs / 60_000) % 1440;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The instant in `[from, to]` where the zone's offset changes (bisection to the minute). */
function findTransition(from: EpochMs, to: EpochMs, timezone: string): EpochMs {
  const first = utcOffsetMs(from, timezone);
  let low = from;
  let high = to;
  while (high - low > 60_000) {
    const mid = low + Math.floor((high - low) / 2);
    if (utcOffsetMs(mid, timezone) === first) low = mid;
    else high = mid;
  }
  return high;
}

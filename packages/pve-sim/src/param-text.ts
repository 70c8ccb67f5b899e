/**
 * A request parameter as PVE's Perl sees it: scalars as their text. The schema check has already
 * refused anything that is not a scalar, so an object here is a bug of ours and shows as JSON.
 */
export function paramText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

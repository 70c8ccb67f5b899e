import type { PveParams } from '../ports/pve-api.js';

/**
 * Encodes parameters the way PVE expects them: `application/x-www-form-urlencoded`, booleans as
 * `1`/`0`, arrays as repeated keys, `null`/`undefined` left out.
 */
export function encodePveParams(params: PveParams | undefined): string {
  const form = new URLSearchParams();
  if (!params) return '';
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly (string | number)[]) form.append(key, String(item));
    } else if (typeof value === 'boolean') {
      form.append(key, value ? '1' : '0');
    } else {
      form.append(key, String(value));
    }
  }
  return form.toString();
}

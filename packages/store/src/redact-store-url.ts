import { scrub } from '@lab/proxmox-sdk';

const MASK = '…';

function masked(url: string): string {
  if (url.startsWith('postgresql://')) return `postgresql://${MASK}`;
  return url.startsWith('postgres://') ? `postgres://${MASK}` : MASK;
}

function parsedUnambiguously(url: string): URL | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // An '@' that did not end up separating the credentials from the host belongs to a password
  // holding an unencoded '/', '?' or '#': the parser saw that password as host, path or query.
  if (url.includes('@') && !parsed.username && !parsed.password) return undefined;
  if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@')) return undefined;
  return parsed;
}

/**
 * `url` as it may appear in messages and logs. A PostgreSQL password is replaced by `…` whatever
 * characters it holds (found by `new URL`, as the driver finds it), and so is every query
 * parameter whose name contains `pass`; a URL that cannot be read unambiguously is shown as
 * `postgres://…` (or just `…`). SQLite URLs carry no secret and are shown as they are.
 */
export function redactStoreUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  const parsed = parsedUnambiguously(url);
  if (!parsed) return masked(url);
  const user = parsed.username
    ? `${parsed.username}${parsed.password ? `:${MASK}` : ''}@`
    : parsed.password
      ? `:${MASK}@`
      : '';
  const query = [...parsed.searchParams].map(
    ([key, value]) =>
      `${encodeURIComponent(key)}=${key.toLowerCase().includes('pass') ? MASK : encodeURIComponent(value)}`,
  );
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}${query.length ? `?${query.join('&')}` : ''}`;
}

/** Whether `url` is a PostgreSQL URL whose credentials, host and path are unambiguous. */
export function isUnambiguousStoreUrl(url: string): boolean {
  return parsedUnambiguously(url) !== undefined;
}

/** `text` (a driver's error, say) with the password of `url` removed, raw and decoded. */
export function scrubStorePassword(text: string, url: string): string {
  const parsed = parsedUnambiguously(url);
  const secrets = [...(parsed?.searchParams ?? [])]
    .filter(([key]) => key.toLowerCase().includes('pass'))
    .map(([, value]) => value);
  if (parsed?.password) {
    secrets.push(parsed.password);
    try {
      secrets.push(decodeURIComponent(parsed.password));
    } catch {
      // a malformed %-escape: the raw form is all there is to hide
    }
  }
  return scrub(text, secrets);
}

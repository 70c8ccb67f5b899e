import { ConfigError } from '../errors/pve-errors.js';

/** Why `url` is not an acceptable PVE base URL, or `undefined` when it is; never repeats credentials. */
export function pveBaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.includes('@')
      ? 'is not a URL; use the form https://pve1.example.org:8006'
      : `'${url}' is not a URL; use the form https://pve1.example.org:8006`;
  }
  if (parsed.username || parsed.password) {
    return `must not carry a user name or password (${parsed.protocol}//…@${parsed.host}); put credentials in tokenId/tokenSecret or username/password`;
  }
  if (parsed.protocol !== 'https:') {
    return `must start with https:// (got ${parsed.protocol}//); PVE's API is served over TLS only and the token must never travel in cleartext`;
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '')
    return `must not carry a path (got '${parsed.pathname}'); the client adds /api2/json itself`;
  return undefined;
}

/**
 * The base URL of a PVE cluster as a `URL`: `https:` only, no credentials, no path. Anything else
 * is a `ConfigError` whose message and data never contain a password given in the URL.
 */
export function parsePveBaseUrl(url: string, clusterId: string): URL {
  const problem = pveBaseUrlProblem(url);
  if (problem) throw new ConfigError(`cluster '${clusterId}': baseUrl ${problem}`, { clusterId, key: 'baseUrl' });
  return new URL(url);
}

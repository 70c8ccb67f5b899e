import { ConfigError } from '@lab/proxmox-sdk/errors';
import type { Engine } from './database.js';
import { isUnambiguousStoreUrl, redactStoreUrl } from './redact-store-url.js';

/** A parsed store URL. */
export type StoreLocation = { engine: 'sqlite'; path: string } | { engine: 'postgres'; connectionString: string };

/**
 * Parses `sqlite:<path>` (`sqlite::memory:` for a throw-away database) or `postgres://…` /
 * `postgresql://…`. Anything else, or a PostgreSQL URL whose password hides an unencoded `/`, `?`
 * or `#`, is a `ConfigError` that says what to write and never repeats a password.
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path)
      throw new ConfigError(`config key 'store': '${url}' names no file; use sqlite:./lab.db`, { key: 'store' });
    return { engine: 'sqlite', path };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (!isUnambiguousStoreUrl(url)) {
      throw new ConfigError(
        "config key 'store': the PostgreSQL URL cannot be read unambiguously; percent-encode '@', '/', '?', '#' and ':' in the user name and password (@ is %40, / is %2F)",
        { key: 'store' },
      );
    }
    return { engine: 'postgres', connectionString: url };
  }
  throw new ConfigError(
    `config key 'store': '${redactStoreUrl(url)}' is not a store URL; use sqlite:./lab.db or postgres://user@host:5432/db`,
    { key: 'store' },
  );
}

/** The engine a location uses. */
export function engineOf(location: StoreLocation): Engine {
  return location.engine;
}

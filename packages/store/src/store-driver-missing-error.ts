import { LabError } from '@lab/proxmox-sdk';

/**
 * The database driver a store URL needs is not installed: `better-sqlite3` for `sqlite:` URLs,
 * `pg` for `postgres://` URLs. Both are optional peer dependencies of `@lab/proxmox-store`, so a
 * PostgreSQL user never compiles better-sqlite3.
 */
export class StoreDriverMissingError extends LabError {
  static override readonly code: string = 'LAB_STORE_DRIVER_MISSING';
  constructor(facts: { driver: string; engine: string }, options?: { cause?: unknown }) {
    super(
      StoreDriverMissingError.code,
      `the ${facts.engine} store needs the '${facts.driver}' package, which is not installed; run npm install ${facts.driver} and start again`,
      facts,
      options,
    );
  }
}

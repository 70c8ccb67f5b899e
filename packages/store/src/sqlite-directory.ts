import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Makes sure the directory of the SQLite file at `path` is there. Without `create` a missing
 * directory is an error that says how to create it (`lab init`, `lab db migrate`); with it, the
 * missing directories are made one level at a time from the nearest one that exists, so a path no
 * directory can be made in (`/proc/lab`, a file in the way, no permission) fails at once — Node's
 * recursive `mkdir` loops forever under `/proc`.
 * @throws `Error` whose message is the reason, for `StoreUnavailableError`
 */
export function ensureSqliteDirectory(path: string, create: boolean): void {
  const missing: string[] = [];
  let directory = dirname(resolve(path));
  for (;;) {
    const stat = statSync(directory, { throwIfNoEntry: false });
    if (stat) {
      if (!stat.isDirectory()) throw new Error(`${directory} is not a directory`);
      break;
    }
    missing.unshift(directory);
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  if (missing.length === 0) return;
  if (!create)
    throw new Error(
      `the directory ${missing.at(-1)} does not exist; create it, or run lab db migrate (or lab init) which creates it`,
    );
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (error) {
      throw new Error(`cannot create the directory ${level} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
        cause: error,
      });
    }
  }
}

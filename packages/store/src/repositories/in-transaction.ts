import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

/** Runs `fn` in the current transaction, or in a new one when there is none. */
export type InTransaction = <T>(fn: (tx: Kysely<Database>) => Promise<T>) => Promise<T>;

/** The `InTransaction` of a database handle: a new transaction, or the open one `db` already is. */
export function inTransactionOf(db: Kysely<Database>): InTransaction {
  return (fn) => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
}

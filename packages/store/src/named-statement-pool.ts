import { createHash } from 'node:crypto';
import type Pg from 'pg';

/** Statements longer than this are sent unnamed: bulk writes whose text changes with their size. */
const MAX_NAMED_TEXT = 2_000;
/** Named statements a connection keeps at most; later texts go unnamed. */
const MAX_NAMED_PER_CONNECTION = 500;

/** What kysely's `PostgresDialect` needs of a pool. */
export interface DialectPool {
  connect(): Promise<Pg.PoolClient>;
  end(): Promise<void>;
}

/**
 * A pool whose clients send each short `select` as a named (prepared) statement, once per
 * connection: PostgreSQL then parses it once and, after a few runs, keeps a generic plan, instead
 * of parsing and planning the same text at every call (the planning was most of a student's
 * `listVms` at 100,000 rows). Writes, long texts and texts past the per-connection cap stay
 * unnamed, so a connection's prepared statements stay bounded and no write is ever held to a
 * generic plan.
 */
export function namedStatementPool(pool: Pg.Pool): DialectPool {
  const wrapped = new WeakMap<Pg.PoolClient, Pg.PoolClient>();
  const namesOf = new WeakMap<Pg.PoolClient, Set<string>>();
  // The name of each text, hashed once: the same few texts come back at every call.
  const knownNames = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = knownNames.get(text);
    if (name === undefined) {
      name = `lab_${createHash('sha1').update(text).digest('base64url')}`;
      if (knownNames.size < MAX_NAMED_PER_CONNECTION) knownNames.set(text, name);
    }
    return name;
  };
  const wrap = (client: Pg.PoolClient): Pg.PoolClient => {
    let proxy = wrapped.get(client);
    if (proxy) return proxy;
    const names = new Set<string>();
    namesOf.set(client, names);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    proxy = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
        return (text: unknown, values?: unknown) => {
          if (typeof text !== 'string' || text.length > MAX_NAMED_TEXT || !/^select\s/.test(text))
            return query(text, values);
          const name = nameOf(text);
          if (!names.has(name)) {
            if (names.size >= MAX_NAMED_PER_CONNECTION) return query(text, values);
            names.add(name);
          }
          return query({ name, text, values });
        };
      },
    });
    wrapped.set(client, proxy);
    return proxy;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}

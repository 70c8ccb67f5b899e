import { startPveSim, type PveSim, type PveSimOptions } from '@lab/pve-sim';
import { expect } from 'vitest';
import {
  createLogger,
  type LogRecord,
  type ProxmoxClient,
  type ProxmoxClientOptions,
  type Store,
} from '../src/index.js';
import { clientForSim } from '../src/testing/index.js';

export { closeAfterEach } from '../src/testing/index.js';

/** A simulator 100× faster than a real cluster. */
export function fastSim(options: PveSimOptions = {}): Promise<PveSim> {
  return startPveSim({ timeScale: 100, ...options });
}

/** A client for `sim` with token auth and the simulator's certificate pinned, logging into `records`. */
export function clientFor(
  sim: PveSim,
  overrides: Partial<ProxmoxClientOptions> = {},
  records: LogRecord[] = [],
): ProxmoxClient {
  return clientForSim(sim, { logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }), ...overrides });
}

/**
 * Asserts that every request the simulator received was valid against the PVE API schema
 * (path, method, parameter names and types), as real PVE would check it.
 */
export function expectSchemaValidRequests(sim: PveSim): void {
  expect(sim.requests.schemaViolations).toEqual([]);
}

/**
 * `store` with every repository call counted by `repository.method` (calls inside a transaction
 * are not), to assert what a round of background work reads and writes.
 */
export function countingStore(store: Store): { store: Store; calls: (name: string) => number; reset: () => void } {
  const counts = new Map<string, number>();
  const wrapped = new Proxy(store, {
    get(target, repo, receiver) {
      const value = Reflect.get(target, repo, receiver) as unknown;
      if (typeof repo !== 'string' || typeof value !== 'object' || value === null) return value;
      return new Proxy(value, {
        get(r, method, rr) {
          const fn = Reflect.get(r, method, rr) as unknown;
          if (typeof method !== 'string' || typeof fn !== 'function') return fn;
          return (...args: unknown[]) => {
            counts.set(`${repo}.${method}`, (counts.get(`${repo}.${method}`) ?? 0) + 1);
            return (fn as (...a: unknown[]) => unknown).apply(r, args);
          };
        },
      });
    },
  });
  return { store: wrapped, calls: (name) => counts.get(name) ?? 0, reset: () => counts.clear() };
}

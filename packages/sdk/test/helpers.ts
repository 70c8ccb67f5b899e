import { startPveSim, type PveSim, type PveSimOptions } from '@lab/pve-sim';
import { expect } from 'vitest';
import { createLogger, type LogRecord, type ProxmoxClient, type ProxmoxClientOptions } from '../src/index.js';
import { clientForSim } from '../src/testing/index.js';

export { closeAfterEach } from '../src/testing/index.js';

/** A simulator 100× faster than a real cluster. */
export function fastSim(options: PveSimOptions = {}): Promise<PveSim> {
  return startPveSim({ timeScale: 100, ...options });
}

/** A client for `sim` with token auth and the simulator's certificate pinned, logging into `records`. */
export function clientFor(sim: PveSim, overrides: Partial<ProxmoxClientOptions> = {}, records: LogRecord[] = []): ProxmoxClient {
  return clientForSim(sim, { logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }), ...overrides });
}

/**
 * Asserts that every request the simulator received was valid against the PVE API schema
 * (path, method, parameter names and types), as real PVE would check it.
 */
export function expectSchemaValidRequests(sim: PveSim): void {
  expect(sim.requests.schemaViolations).toEqual([]);
}


import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { pveResources, waitForTask } from '../src/pve/index.js';
import { createLogger, type LogRecord, type ProxmoxClient } from '../src/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();

describe('a task that ends WARNINGS: N (pve-common RESTEnvironment log_warn)', () => {
  it('is a success, logged as a warning with its WARN: lines', async () => {
    const sim: PveSim = track(await fastSim());
    const client: ProxmoxClient = track(clientFor(sim));
    sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/status/start',
      kind: 'task-warnings',
      warnings: 2,
    });
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', sink: (r) => records.push(r) });
    const upid = await pveResources(client).qemu('pve3', 102).start();
    const result = await waitForTask(client, upid, { pollIntervalMs: 20, logger });
    expect(result.exitstatus).toBe('WARNINGS: 2');
    const warned = records.filter((r) => r.msg === 'PVE task ended with warnings');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', upid, exitstatus: 'WARNINGS: 2' });
    expect(warned[0]!.warnings).toHaveLength(2);
    expect(sim.state.guests.get(102)?.status).toBe('running');
  });
});

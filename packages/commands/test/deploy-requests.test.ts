import { performance } from 'node:perf_hooks';
import * as commands from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids, lab } from './lab-fixture.js';

const CLONE = 'POST /nodes/{node}/qemu/{vmid}/clone';
const VMID_LOOKUP = 'GET /cluster/nextid';

/** Every request of the lab's client while `counting`, with the time it was sent. */
const sent: Array<{ request: string; at: number }> = [];
let counting = false;
let env: Awaited<ReturnType<typeof lab>>;
beforeAll(async () => {
  env = await lab(commands, {
    observer: {
      pveRequest: ({ method, endpoint, durationMs }) => {
        if (counting) sent.push({ request: `${method} ${endpoint}`, at: performance.now() - durationMs });
      },
    },
  });
});
afterAll(() => env?.close());

describe('/lab deploy through the router', () => {
  it('reads the cluster once for its plan and its preflight, then asks one free VMID per clone before cloning', async () => {
    counting = true;
    const done = await env.router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 10',
    });
    counting = false;
    expect(done.error, done.text).toBeFalsy();
    const firstClone = Math.min(...sent.filter((s) => s.request === CLONE).map((s) => s.at));
    expect(firstClone).toBeLessThan(Infinity);
    const before = sent
      .filter((s) => s.at < firstClone)
      .sort((a, b) => a.at - b.at)
      .map((s) => s.request);
    // The teacher VM and the base template are cloned side by side: each asks PVE for a free VMID.
    const lookups = before.filter((r) => r === VMID_LOOKUP).length;
    expect(lookups).toBeGreaterThanOrEqual(1);
    expect(lookups).toBeLessThanOrEqual(2);
    // What the first clone waited for: these three reads and its own VMID — four requests.
    const reads = before.filter((r) => r !== VMID_LOOKUP);
    expect(reads).toEqual([
      'GET /cluster/resources',
      'GET /nodes/{node}/qemu/{vmid}/config',
      'GET /access/permissions',
    ]);
  });
});

import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PveSim } from '@lab/pve-sim';
import {
  PveConnectionError,
  PveHttpError,
  PveResponseShapeError,
  PveResponseTooLargeError,
  PveTimeoutError,
} from '../src/errors/index.js';
import { ProxmoxClient } from '../src/index.js';
import { clientFor, closeAfterEach, expectSchemaValidRequests, fastSim } from './helpers.js';

let sim: PveSim;
let client: ProxmoxClient;
const { track } = closeAfterEach();

describe('retries', () => {
  it('retries a GET through transient 5xx and succeeds', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'http-503', count: 2 });
    const nodes = await client.get<unknown[]>('/nodes');
    expect(nodes).toHaveLength(3);
    expect(sim.requests.count('GET /nodes')).toBe(3);
  });

  it('gives up after maxAttempts with the last PveHttpError', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } }));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'http-596' });
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveHttpError);
    expect((error as PveHttpError).status).toBe(596);
    expect((error as PveHttpError).code).toBe('LAB_PVE_HTTP_596');
    expect(sim.requests.count('GET /nodes')).toBe(3);
  });

  it('does not retry a deterministic 500 such as a missing VM', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    const error = await client.get('/nodes/pve1/qemu/4242/config').catch((e: unknown) => e);
    expect((error as PveHttpError).pveMessage).toBe(
      "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist",
    );
    expect(sim.requests.count('GET /nodes/{node}/qemu/{vmid}/config')).toBe(1);
  });

  it('never repeats a POST whose connection broke after it was sent (it may have taken effect)', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/start', kind: 'reset-after', count: 1 });
    const error = await client.post('/nodes/pve3/qemu/102/status/start').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveConnectionError);
    expect((error as PveConnectionError).requestSent).toBe(true);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(1);
    // It did take effect: a blind retry would have failed with "already running" or started twice.
    expect(sim.state.tasks.running().filter((t) => t.type === 'qmstart')).toHaveLength(1);
  });

  it('does not retry a POST on a 5xx either', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', kind: 'http-596', count: 1 });
    await expect(client.post('/nodes/pve1/qemu/9000/clone', { newid: 300 })).rejects.toBeInstanceOf(PveHttpError);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(1);
  });

  it('retries a POST that provably never reached PVE (595 from the proxy)', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/start', kind: 'http-595', count: 1 });
    expect(await client.post<string>('/nodes/pve3/qemu/102/status/start')).toContain(':qmstart:');
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(2);
  });

  it('retries a POST when the connection is reset before the request was written', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    client = track(
      new ProxmoxClient({
        baseUrl: `https://127.0.0.1:${port}`,
        auth: { type: 'token', tokenId: 'a@pve!b', secret: 'c0ffee' },
        tls: { insecure: true },
        retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
      }),
    );
    const error = await client.post('/nodes/pve1/qemu/100/status/start').catch((e: unknown) => e);
    server.close();
    expect(error).toBeInstanceOf(PveConnectionError);
    expect((error as PveConnectionError).requestSent).toBe(false);
    expect(connections).toBe(3);
  });
});

describe('timeouts', () => {
  it('throws PveTimeoutError after timeoutMs and retries a GET', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { timeoutMs: 150 }));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'delay', delayMs: 600 });
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveTimeoutError);
    expect((error as PveTimeoutError).message).toContain('got no answer within 150 ms');
    expect(sim.requests.count('GET /nodes')).toBe(3);
  });

  it('does not retry a timed-out POST', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { timeoutMs: 150 }));
    sim.faults.add({ method: 'POST', kind: 'delay', delayMs: 500 });
    await expect(client.post('/nodes/pve3/qemu/102/status/start')).rejects.toBeInstanceOf(PveTimeoutError);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(1);
  });
});

describe('responses', () => {
  it('reports a body that is not JSON as PveResponseShapeError', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { retry: { maxAttempts: 1 } }));
    sim.faults.add({ path: '/nodes', kind: 'malformed-json', count: 1 });
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveResponseShapeError);
    expect((error as PveResponseShapeError).issues).toEqual(['body is not JSON']);
  });

  it('names the field when a response does not fit the expected shape', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    const schema = z.array(z.object({ node: z.string(), maxmem: z.number() }));
    expect(await client.get('/nodes', undefined, { schema })).toHaveLength(3);
    sim.faults.add({ path: '/nodes', kind: 'wrong-shape', count: 1 });
    const error = await client.get('/nodes', undefined, { schema }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveResponseShapeError);
    expect((error as Error).message).toBe(
      "GET /nodes on cluster 'lab' returned an unexpected response: data: Invalid input: expected array, received object",
    );
    const strict = z.array(z.object({ node: z.string(), maxmem: z.string() }));
    const nested = (await client
      .get('/nodes', undefined, { schema: strict })
      .catch((e: unknown) => e)) as PveResponseShapeError;
    expect(nested.issues[0]).toBe('data[0].maxmem: Invalid input: expected string, received number');
  });

  it('stops reading an answer longer than maxResponseBytes, does not retry it, and says how to raise the limit', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { maxResponseBytes: 1024 * 1024 }));
    sim.faults.add({ path: '/cluster/resources', kind: 'huge-body', sizeBytes: 700 * 1024 * 1024 });
    const error = await client.get('/cluster/resources', { type: 'vm' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveResponseTooLargeError);
    expect((error as PveResponseTooLargeError).code).toBe('LAB_PVE_RESPONSE_TOO_LARGE');
    expect((error as Error).message).toBe(
      "GET /cluster/resources on cluster 'lab' answered more than 1 MiB, so reading stopped there; if answers this large are expected, raise maxResponseBytes (clusters[].maxResponseBytes in lab.config.json)",
    );
    expect(sim.requests.count('GET /cluster/resources')).toBe(1);
    // The client hung up at the limit: the simulator got to send only a sliver of the 700 MiB.
    expect(sim.faults.list()[0]!.bytesSent).toBeLessThan(64 * 1024 * 1024);
    expect(await client.get<unknown[]>('/nodes')).toHaveLength(3);
  });

  it('surfaces PVE parameter errors field by field', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    const error = (await client.get('/cluster/nextid', { vmid: 9000 }).catch((e: unknown) => e)) as PveHttpError;
    expect(error.status).toBe(400);
    expect(error.errors).toEqual({ vmid: 'VM 9000 already exists' });
    expect(error.message).toBe(
      "GET /cluster/nextid on cluster 'lab' failed with HTTP 400: Parameter verification failed. — vmid: VM 9000 already exists",
    );
  });
});

describe('closing', () => {
  it('a client closed before its first request refuses requests without connecting', async () => {
    sim = track(await fastSim());
    client = clientFor(sim);
    await client.close();
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveConnectionError);
    expect((error as PveConnectionError).requestSent).toBe(false);
    expect(sim.requests.count('GET /nodes')).toBe(0);
  });

  it('a client closed after a request refuses the next one', async () => {
    sim = track(await fastSim());
    client = clientFor(sim);
    await client.get('/nodes');
    await client.close();
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveConnectionError);
    expect(sim.requests.count('GET /nodes')).toBe(1);
  });
});

describe('concurrency cap', () => {
  it('never has more than maxConcurrentRequests in flight at pveproxy', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { maxConcurrentRequests: 2 }));
    sim.faults.add({ method: 'GET', path: '/nodes', kind: 'delay', delayMs: 40 });
    sim.requests.reset();
    await Promise.all(Array.from({ length: 10 }, () => client.get('/nodes')));
    expect(sim.requests.count('GET /nodes')).toBe(10);
    expect(sim.requests.maxInFlight).toBe(2);
    expectSchemaValidRequests(sim);
  });
});

import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { PveAuthError } from '../src/errors/index.js';
import { ProxmoxClient, type LogRecord } from '../src/index.js';
import { clientFor, closeAfterEach, expectSchemaValidRequests, fastSim } from './helpers.js';

let sim: PveSim;
let client: ProxmoxClient;
const { track } = closeAfterEach();

describe('API token auth', () => {
  it('reads the cluster with PVEAPIToken and sends schema-valid requests', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim));
    expect(await client.version()).toMatchObject({ version: '9.1.3' });
    const nodes = await client.get<Array<{ node: string }>>('/nodes');
    expect(nodes.map((n) => n.node)).toEqual(['pve1', 'pve2', 'pve3']);
    expectSchemaValidRequests(sim);
  });

  it('fails with PveAuthError naming the token id, never the secret', async () => {
    sim = track(await fastSim());
    const secret = 'wrong-secret-0123456789';
    const logs: LogRecord[] = [];
    client = track(clientFor(sim, { auth: { type: 'token', tokenId: sim.tokenId, secret } }, logs));
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveAuthError);
    expect((error as PveAuthError).code).toBe('LAB_PVE_AUTH');
    expect((error as Error).message).toContain(sim.tokenId);
    expect(
      JSON.stringify({ message: (error as Error).message, json: (error as PveAuthError).toJSON(), logs }),
    ).not.toContain(secret);
    expect(sim.requests.count('GET /nodes')).toBe(1);
  });

  it('refuses a malformed token id before sending anything', () => {
    expect(
      () =>
        new ProxmoxClient({
          baseUrl: 'https://127.0.0.1:1',
          auth: { type: 'token', tokenId: 'root-pam-lab', secret: 'x' },
        }),
    ).toThrow("tokenId 'root-pam-lab' must look like USER@REALM!TOKENID");
  });
});

describe('ticket auth', () => {
  it('logs in once, reads with the cookie and writes with the CSRF token', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { auth: { type: 'ticket', username: 'root@pam', password: 'pve-sim' } }));
    await client.get('/nodes');
    await client.get('/cluster/resources', { type: 'vm' });
    const upid = await client.post<string>('/nodes/pve3/qemu/102/status/start');
    expect(upid).toMatch(/:qmstart:102:root@pam:$/);
    expect(sim.requests.count('POST /access/ticket')).toBe(1);
    expectSchemaValidRequests(sim);
  });

  it('logs in again once when the ticket has expired, and goes on', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { auth: { type: 'ticket', username: 'root@pam', password: 'pve-sim' } }));
    await client.get('/nodes');
    sim.auth.expireTickets();
    const upid = await client.post<string>('/nodes/pve3/qemu/102/status/start');
    expect(upid).toContain(':qmstart:102:');
    expect(sim.requests.count('POST /access/ticket')).toBe(2);
    // The refused POST plus its one repetition: the write was not sent three times.
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(2);
  });

  it('renews a ticket that is older than ticketRenewAfterMs before using it', async () => {
    sim = track(await fastSim());
    let now = 1_000_000;
    client = clientFor(sim, {
      auth: { type: 'ticket', username: 'root@pam', password: 'pve-sim' },
      clock: { now: () => now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      ticketRenewAfterMs: 60_000,
    });
    await client.get('/nodes');
    now += 61_000;
    await client.get('/nodes');
    expect(sim.requests.count('POST /access/ticket')).toBe(2);
  });

  it('says a wrong password is wrong, once, without looping or leaking it', async () => {
    sim = track(await fastSim());
    const logs: LogRecord[] = [];
    client = track(clientFor(sim, { auth: { type: 'ticket', username: 'root@pam', password: 'hunter2-wrong' } }, logs));
    const error = await client.get('/nodes').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveAuthError);
    expect((error as Error).message).toBe(
      "cluster 'lab' refused the login of 'root@pam': check the user name, realm and password",
    );
    expect(sim.requests.count('POST /access/ticket')).toBe(1);
    expect(JSON.stringify(logs)).not.toContain('hunter2-wrong');
  });

  it('never logs the ticket or CSRF token it received', async () => {
    sim = track(await fastSim());
    const logs: LogRecord[] = [];
    client = track(clientFor(sim, { auth: { type: 'ticket', username: 'root@pam', password: 'pve-sim' } }, logs));
    await client.post('/nodes/pve3/qemu/102/status/start');
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/PVE:root@pam:[0-9A-F]+::/);
    expect(text).not.toContain('pve-sim"');
  });
});

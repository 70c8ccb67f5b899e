import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PveSim } from '../src/index.js';
import { call, fastSim } from './helpers.js';

let sim: PveSim;
beforeAll(async () => {
  sim = await fastSim({ token: 'lab@pve!bot=5f0c4a7e-1111-2222-3333-444455556666' });
});
afterAll(() => sim.close());

async function login(): Promise<{ ticket: string; CSRFPreventionToken: string; username: string }> {
  const r = await call(sim, 'POST', '/access/ticket', {
    params: { username: 'root@pam', password: 'pve-sim' },
    auth: 'none',
  });
  expect(r.status).toBe(200);
  return r.body.data as { ticket: string; CSRFPreventionToken: string; username: string };
}

describe('authentication behaves like pveproxy', () => {
  it('accepts the configured API token and refuses a wrong secret with 401', async () => {
    expect(sim.tokenId).toBe('lab@pve!bot');
    expect((await call(sim, 'GET', '/version')).status).toBe(200);
    const wrong = await call(sim, 'GET', '/version', {
      auth: 'none',
      headers: { authorization: 'PVEAPIToken=lab@pve!bot=wrong' },
    });
    expect(wrong.status).toBe(401);
  });

  it('refuses a request with no credentials', async () => {
    const r = await call(sim, 'GET', '/nodes', { auth: 'none' });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('No ticket');
  });

  it('issues a ticket and CSRF token for a right password and 401 for a wrong one', async () => {
    const data = await login();
    expect(data.ticket).toMatch(/^PVE:root@pam:[0-9A-F]+::/);
    expect(data.username).toBe('root@pam');
    const bad = await call(sim, 'POST', '/access/ticket', {
      params: { username: 'root@pam', password: 'nope' },
      auth: 'none',
    });
    expect(bad.status).toBe(401);
    expect(bad.reason).toBe('authentication failure');
  });

  it('lets a ticket read, but refuses a ticket write without the CSRF header', async () => {
    const { ticket, CSRFPreventionToken } = await login();
    const cookie = `PVEAuthCookie=${encodeURIComponent(ticket)}`;
    expect((await call(sim, 'GET', '/nodes', { auth: 'none', headers: { cookie } })).status).toBe(200);
    const noCsrf = await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start', { auth: 'none', headers: { cookie } });
    expect(noCsrf.status).toBe(401);
    expect(noCsrf.reason).toBe('Permission denied - invalid csrf token');
    expect(sim.state.guests.get(102)?.status).toBe('stopped');
    const withCsrf = await call(sim, 'POST', '/nodes/pve3/qemu/102/status/start', {
      auth: 'none',
      headers: { cookie, CSRFPreventionToken },
    });
    expect(withCsrf.status).toBe(200);
    expect(String(withCsrf.body.data)).toMatch(/^UPID:pve3:.*:qmstart:102:root@pam:$/);
  });

  it('refuses tickets once they have expired', async () => {
    const { ticket } = await login();
    sim.auth.expireTickets();
    const r = await call(sim, 'GET', '/nodes', {
      auth: 'none',
      headers: { cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` },
    });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('invalid PVE ticket');
  });
});

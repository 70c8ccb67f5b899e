import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestBrowser,
  csrfOf,
  startDevOidcProvider,
  startLabWithVms,
  startPortal,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';
import { escapeHtml } from '../src/html.js';

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;
let aliceVmid: number;

beforeAll(async () => {
  lab = await startLabWithVms();
  provider = await startDevOidcProvider();
  web = await startPortal(lab, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
  const alice = (await lab.services.store.classes.getPersonByUsername('alice'))!;
  aliceVmid = (await lab.services.store.classes.assignmentsOf(alice.id))[0]!.vmid;
}, 60_000);

afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

async function signedIn(username: string): Promise<{ browser: TestBrowser; csrf: string }> {
  const browser = new TestBrowser();
  const page = await browser.get(`${web.url}/login?login_hint=${username}`, { follow: true });
  expect(page.status).toBe(200);
  return { browser, csrf: csrfOf(await page.text()) };
}

const audit = (action: string) => lab.services.store.audit.list({ action });

describe('requests an attacker forges at the portal', () => {
  it('refuses and audits a POST without the CSRF token, and one with another session’s token', async () => {
    const { browser } = await signedIn('alice');
    const other = await signedIn('bob');
    const before = (await audit('web.request')).length;
    const none = await browser.post(`${web.url}/vm/${aliceVmid}/start`, {});
    expect(none.status).toBe(403);
    expect(await none.text()).toContain(escapeHtml("This form was not sent from the lab's own page"));
    const foreign = await browser.post(`${web.url}/vm/${aliceVmid}/start`, { _csrf: other.csrf });
    expect(foreign.status).toBe(403);
    const entries = (await audit('web.request')).slice(0, (await audit('web.request')).length - before);
    expect(entries.map((e) => [e.actor, e.outcome, e.details.reason])).toEqual([
      ['alice', 'denied', 'csrf'],
      ['alice', 'denied', 'csrf'],
    ]);
    expect(await lab.services.store.audit.list({ action: 'command.myvm.start', actor: 'alice' })).toEqual([]);
  });

  it('refuses and audits a POST from another origin, or with no Origin, even with the right token', async () => {
    const { browser, csrf } = await signedIn('alice');
    const evil = await browser.post(
      `${web.url}/vm/${aliceVmid}/start`,
      { _csrf: csrf },
      { headers: { origin: 'https://evil.example' } },
    );
    expect(evil.status).toBe(403);
    const [entry] = await audit('web.request');
    expect(entry).toMatchObject({
      actor: 'alice',
      outcome: 'denied',
      details: { reason: 'origin', origin: 'https://evil.example' },
    });
    const noOrigin = await browser.request('POST', `${web.url}/logout`, `_csrf=${csrf}`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(noOrigin.status).toBe(403);
    expect((await audit('web.request'))[0]).toMatchObject({ details: { reason: 'origin', origin: null } });
    expect((await browser.get(`${web.url}/`)).status).toBe(200);
    expect(await (await browser.get(`${web.url}/`)).text()).toContain('<h1>My VMs</h1>');
  });

  it("refuses a student starting another student's VM, through the router's ownership check, audited", async () => {
    const { browser, csrf } = await signedIn('bob');
    const response = await browser.post(`${web.url}/vm/${aliceVmid}/start`, { _csrf: csrf });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(escapeHtml(`You have no VM '${aliceVmid}'`));
    expect((await lab.services.store.audit.list({ action: 'command.myvm.start', actor: 'bob' }))[0]).toMatchObject({
      outcome: 'denied',
      details: { platformUserId: `web:${provider.issuer}#bob` },
    });
    expect(lab.sim.state.guests.get(aliceVmid)!.status).toBe('stopped');
  });

  it('refuses a teacher resetting a VM of a class they do not teach, audited', async () => {
    const { browser, csrf } = await signedIn('hopper');
    const response = await browser.post(`${web.url}/vm/${aliceVmid}/reset`, { _csrf: csrf });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('Please confirm');
    expect((await lab.services.store.audit.list({ action: 'command.myvm.reset', actor: 'hopper' }))[0]).toMatchObject({
      outcome: 'denied',
    });
  });

  it('refuses a POST after sign-out, and the cookie of the ended session no longer opens pages', async () => {
    const { browser, csrf } = await signedIn('alice');
    const cookie = browser.cookies.get(web.url)!.get('__Host-lab_session')!;
    expect((await browser.post(`${web.url}/logout`, { _csrf: csrf })).status).toBe(200);
    const replay = new TestBrowser();
    replay.cookies.set(web.url, new Map([['__Host-lab_session', cookie]]));
    expect(await (await replay.get(`${web.url}/`)).text()).toContain('Sign in with your school account');
    const post = await replay.post(`${web.url}/vm/${aliceVmid}/start`, { _csrf: csrf });
    expect(post.status).toBe(401);
    expect((await audit('web.request'))[0]).toMatchObject({
      actor: 'web:anonymous',
      details: { reason: 'signed-out' },
    });
  });

  it('sends no Proxmox token or ticket to the browser on any page', async () => {
    const { browser } = await signedIn('alice');
    const pages = await Promise.all(
      ['/', '/keys', `/vm/${aliceVmid}/connect`].map(async (p) => {
        const r = await browser.get(`${web.url}${p}`);
        return `${[...r.headers].join('\n')}\n${await r.text()}`;
      }),
    );
    for (const text of pages) {
      expect(text).not.toContain(lab.sim.tokenSecret);
      expect(text).not.toMatch(/PVEAPIToken|PVEAuthCookie|PVE:[a-z]+@/);
    }
  });
});

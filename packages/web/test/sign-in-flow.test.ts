import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;
let aliceVm: { vmid: number; name: string };
let bobVm: { vmid: number; name: string };

beforeAll(async () => {
  lab = await startLabWithVms();
  provider = await startDevOidcProvider();
  web = await startPortal(lab, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
  const { store } = lab.services;
  const vmOf = async (username: string) => {
    const person = (await store.classes.getPersonByUsername(username))!;
    const [assignment] = await store.classes.assignmentsOf(person.id);
    const vm = (await store.inventory.list()).find((v) => v.vmid === assignment!.vmid);
    return { vmid: assignment!.vmid, name: vm!.name };
  };
  aliceVm = await vmOf('alice');
  bobVm = await vmOf('bob');
}, 60_000);

afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

describe('signing in at the development provider', () => {
  it("ends, with curl -sk -L and a cookie jar, on the student's own page listing only their VM", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-web-curl-'));
    const curl = async (username: string) =>
      (
        await promisify(execFile)('curl', [
          '-sk',
          '-L',
          '-c',
          join(dir, `${username}.jar`),
          '-b',
          join(dir, `${username}.jar`),
          `${web.url}/login?login_hint=${username}`,
        ])
      ).stdout;
    const alice = await curl('alice');
    expect(alice).toContain('<h1>My VMs</h1>');
    expect(alice).toContain('(alice)');
    expect(alice).toContain(aliceVm.name);
    expect(alice).not.toContain(bobVm.name);
    const bob = await curl('bob');
    expect(bob).toContain(bobVm.name);
    expect(bob).not.toContain(aliceVm.name);
  });

  it('records the sign-in with the identity beside the lab username, and links the identity', async () => {
    const browser = new TestBrowser();
    const page = await browser.get(`${web.url}/login?login_hint=alice`, { follow: true });
    expect(page.status).toBe(200);
    const entry = (await lab.services.store.audit.list({ action: 'web.sign-in', actor: 'alice' }))[0];
    expect(entry).toMatchObject({
      outcome: 'ok',
      target: provider.issuer,
      details: { platformUserId: `web:${provider.issuer}#alice` },
    });
    expect(await lab.services.store.classes.findByIdentity('web', `${provider.issuer}#alice`)).toMatchObject({
      username: 'alice',
    });
  });

  it('sets the session cookie HttpOnly, Secure and SameSite=Lax, with a strict CSP on every page', async () => {
    const browser = new TestBrowser();
    const login = await browser.get(`${web.url}/login?login_hint=bob`);
    expect(login.status).toBe(303);
    const hop1 = await browser.get(login.headers.get('location')!, { follow: true });
    expect(hop1.status).toBe(200);
    const jar = browser.cookies.get(web.url)!;
    expect(jar.has('__Host-lab_session')).toBe(true);
    const again = new TestBrowser();
    const start = await again.get(`${web.url}/login?login_hint=bob`);
    const setCookie = start.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/__Host-lab_login=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax/);
    const provided = await again.get(start.headers.get('location')!, { follow: false });
    let next = provided;
    while (
      next.status >= 300 &&
      next.status < 400 &&
      !next.headers.get('location')!.startsWith(`${web.url}/auth/callback`)
    )
      next = await again.get(new URL(next.headers.get('location')!, next.finalUrl).href);
    const callback = await again.get(new URL(next.headers.get('location')!, next.finalUrl).href);
    expect(callback.status).toBe(303);
    expect(callback.headers.getSetCookie().find((c) => c.startsWith('__Host-lab_session='))).toMatch(
      /HttpOnly; Secure; SameSite=Lax/,
    );
    const home = await again.get(`${web.url}/`);
    const csp = home.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await home.text()).not.toMatch(/<script(?![^>]*\ssrc=)/);
  });

  it('starts the VM through the command router, as platform web, and signs out everywhere', async () => {
    const browser = new TestBrowser();
    const home = await (await browser.get(`${web.url}/login?login_hint=alice`, { follow: true })).text();
    const started = await browser.post(`${web.url}/vm/${aliceVm.vmid}/start`, { _csrf: csrfOf(home) });
    expect(started.status).toBe(200);
    expect(await started.text()).toContain(`${aliceVm.name} (${aliceVm.vmid}) is running.`);
    const audited = (await lab.services.store.audit.list({ action: 'command.myvm.start', actor: 'alice' }))[0];
    expect(audited).toMatchObject({
      outcome: 'ok',
      details: { platformUserId: `web:${provider.issuer}#alice`, platform: 'web' },
    });
    const out = await browser.post(`${web.url}/logout`, { _csrf: csrfOf(home) });
    expect(out.status).toBe(200);
    expect(await (await browser.get(`${web.url}/`)).text()).toContain('Sign in with your school account');
  });
});

export { csrfOf };

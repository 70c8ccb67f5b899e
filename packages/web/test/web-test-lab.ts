import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as commands from '@lab/commands';
import { expect } from 'vitest';
import { createLogger, type DirectoryService, type Store } from '@lab/proxmox-sdk';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import { createWebPortal, type WebPortal } from '../src/index.js';
import { startDevOidcProvider, type DevOidcProvider } from '../src/dev-provider.js';
import type { WebConfig } from '../src/web-config.js';

export type Lab = Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;

/** A portal on a real loopback port in front of a test lab, signing in at `issuer`. */
export interface PortalUnderTest {
  url: string;
  portal: WebPortal;
  server: Server;
  close(): Promise<void>;
}

/** Listens first, so the portal's public URL (and its callback) names the real port. */
export async function startPortal(
  lab: Lab,
  oidc: { issuer: string; clientId: string; clientSecret: string } & Partial<WebConfig['oidc']>,
  options: {
    store?: Store;
    session?: WebConfig['session'];
    router?: commands.CommandRouter;
    directory?: Pick<DirectoryService, 'enrolFromSignIn'>;
  } = {},
): Promise<PortalUnderTest> {
  const holder: { portal?: WebPortal } = {};
  const server = createServer((req, res) => holder.portal!.requestListener(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { clientSecret, ...rest } = oidc;
  const portal = await createWebPortal({
    router: options.router ?? lab.router,
    store: options.store ?? lab.services.store,
    logger: createLogger({ level: 'error' }),
    clientSecret,
    clock: lab.services.clock,
    ...(options.directory ? { directory: options.directory } : {}),
    config: {
      publicUrl: url,
      oidc: {
        clientSecretFile: '/dev/null',
        usernameClaim: 'preferred_username',
        emailClaim: 'email',
        groupsClaim: 'groups',
        mapBy: 'username',
        ...rest,
      },
      session: options.session ?? { idleMinutes: 60, absoluteHours: 12 },
    },
  });
  holder.portal = portal;
  return {
    url,
    portal,
    server,
    close: async () => {
      await portal.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export async function startLabWithVms(): Promise<Lab> {
  const lab = await startTestLab(commands);
  const summary = await lab.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
  if (summary.status !== 'done') throw new Error(`cs101 deploy ${summary.status}`);
  return lab;
}

export { startDevOidcProvider, type DevOidcProvider };

/** A dev OpenID provider and a portal in front of `lab` that signs in there. */
export async function startPortalWithDevProvider(
  lab: Lab,
): Promise<{ provider: DevOidcProvider; web: PortalUnderTest }> {
  const provider = await startDevOidcProvider();
  const web = await startPortal(lab, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
  return { provider, web };
}

/** Signs `username` in at the dev provider of `web`; a browser with the session and the page's CSRF token. */
export async function signInAs(web: PortalUnderTest, username: string) {
  const browser = new TestBrowser();
  const start = await browser.get(`${web.url}/login?login_hint=${username}`, { follow: true });
  expect(start.status).toBe(200);
  return { browser, csrf: csrfOf(await start.text()) };
}

/**
 * A browser stand-in: keeps cookies per origin (all of them, as curl does on loopback) and follows
 * redirects when asked, so tests can stop at the callback and tamper with it.
 */
export class TestBrowser {
  readonly cookies = new Map<string, Map<string, string>>();

  async get(
    url: string,
    options: { follow?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response & { finalUrl: string }> {
    return this.request('GET', url, undefined, options);
  }

  async post(
    url: string,
    form: Record<string, string>,
    options: { follow?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response & { finalUrl: string }> {
    return this.request('POST', url, new URLSearchParams(form).toString(), {
      ...options,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin, ...options.headers },
    });
  }

  async request(
    method: string,
    url: string,
    body: string | undefined,
    options: { follow?: boolean; headers?: Record<string, string> },
  ): Promise<Response & { finalUrl: string }> {
    let current = url;
    let currentMethod = method;
    let currentBody = body;
    for (let hop = 0; hop < 15; hop++) {
      const origin = new URL(current).origin;
      const jar = this.cookies.get(origin);
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (jar?.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (currentMethod === 'GET') delete headers['content-type'];
      const response = await fetch(current, {
        method: currentMethod,
        headers,
        redirect: 'manual',
        ...(currentBody !== undefined ? { body: currentBody } : {}),
      });
      this.#keep(origin, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (!options.follow || !location || response.status < 300 || response.status >= 400)
        return Object.assign(response, { finalUrl: current });
      current = new URL(location, current).href;
      currentMethod = 'GET';
      currentBody = undefined;
      delete options.headers?.origin;
    }
    throw new Error('too many redirects');
  }

  #keep(origin: string, setCookies: string[]): void {
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    this.cookies.set(origin, jar);
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
}

/** The CSRF token of the first form on a page. */
export function csrfOf(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

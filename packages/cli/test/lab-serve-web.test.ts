import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@lab/proxmox-store';
import { runLab, startLab, stopLab } from './helpers.js';

/** The JSON line of `lab sim --oidc`. */
interface SimLine {
  url: string;
  fingerprint: string;
  tokenId: string;
  tokenSecret: string;
  oidc: { issuer: string; clientId: string; clientSecretFile: string };
}

const postgresUrl = process.env.LAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'lab-serve-web-'));
const dbName = `lab_web_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
let storeUrl: string;
let sim: { child: ChildProcess; first: SimLine };
const servers: Array<{ child: ChildProcess; url: string; config: string }> = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Cookies by name, and redirects followed across the portal and the provider (as a browser does). */
class Browser {
  cookies = new Map<string, string>();
  async go(
    url: string,
    init: { method?: string; form?: Record<string, string>; origin?: string } = {},
  ): Promise<Response> {
    let current = url;
    let method = init.method ?? 'GET';
    let body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hop = 0; hop < 15; hop++) {
      const headers: Record<string, string> = {};
      if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers.origin = init.origin ?? new URL(current).origin;
      }
      const response = await fetch(current, {
        method,
        headers,
        redirect: 'manual',
        ...(body !== undefined ? { body } : {}),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
        if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
      const location = response.headers.get('location');
      if (!location || response.status < 300 || response.status >= 400) return response;
      current = new URL(location, current).href;
      method = 'GET';
      body = undefined;
    }
    throw new Error('too many redirects');
  }
}

const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)![1]!;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${dbName}`;
  storeUrl = url.toString();
  sim = await startLab<SimLine>(['sim', '--oidc', '--time-scale', '100'], { cwd: dir });
  const { oidc } = sim.first;
  expect(oidc).toMatchObject({
    issuer: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    clientId: 'lab-portal-dev',
  });
  const store = await openStore(storeUrl);
  await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, 1);
  await store.close();
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const config = join(dir, `lab.${name}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        store: storeUrl,
        clusters: [
          {
            id: 'lab',
            url: sim.first.url,
            tokenId: sim.first.tokenId,
            tokenSecret: sim.first.tokenSecret,
            fingerprint: sim.first.fingerprint,
          },
        ],
        web: { publicUrl: `http://127.0.0.1:${port}`, oidc },
      }),
    );
    const { child, first } = await startLab<{ serving: string; url: string }>(
      ['--config', config, 'serve', 'web', '--port', String(port)],
      { cwd: dir },
    );
    expect(first.serving).toBe('web');
    servers.push({ child, url: first.url, config });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => stopLab(s.child)));
  if (sim) await stopLab(sim.child);
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('two lab serve web processes on one PostgreSQL store', () => {
  it('print their URL, and a session signed in on one works on the other until signed out on either', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const browser = new Browser();
    const signedIn = await browser.go(`${a.url}/login?login_hint=alice`);
    expect(signedIn.status).toBe(200);
    expect(await signedIn.text()).toContain('Alice (alice)');
    const onB = await browser.go(`${b.url}/`);
    const page = await onB.text();
    expect(page).toContain('<h1>My VMs</h1>');
    expect(page).toContain('Alice (alice)');
    const out = await browser.go(`${b.url}/logout`, { method: 'POST', form: { _csrf: csrfOf(page) } });
    expect(out.status).toBe(200);
    expect(await (await browser.go(`${a.url}/`)).text()).toContain('Sign in with your school account');
    // The browser dropped its cookie; one kept from before sign-out is refused on both processes.
    const kept = new Browser();
    await kept.go(`${a.url}/login?login_hint=alice`);
    const cookie = kept.cookies.get('__Host-lab_session')!;
    expect(await (await kept.go(`${b.url}/`)).text()).toContain('Alice (alice)');
    const keptPage = await (await kept.go(`${a.url}/`)).text();
    await kept.go(`${a.url}/logout`, { method: 'POST', form: { _csrf: csrfOf(keptPage) } });
    for (const server of [a, b]) {
      const replay = new Browser();
      replay.cookies.set('__Host-lab_session', cookie);
      expect(await (await replay.go(`${server.url}/`)).text()).toContain('Sign in with your school account');
    }
  });

  it('end everywhere when an admin signs a person out (lab people signout)', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const browser = new Browser();
    await browser.go(`${a.url}/login?login_hint=alice`);
    expect(await (await browser.go(`${b.url}/`)).text()).toContain('Alice (alice)');
    const revoked = await runLab(['--config', a.config, 'people', 'signout', 'alice'], { cwd: dir });
    expect(revoked.stdout).toContain('Signed alice out of the web portal (1 session ended).');
    for (const server of [a, b])
      expect(await (await browser.go(`${server.url}/`)).text()).toContain('Sign in with your school account');
  });
});

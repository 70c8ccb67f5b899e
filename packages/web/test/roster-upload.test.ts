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

beforeAll(async () => {
  lab = await startLabWithVms();
  provider = await startDevOidcProvider();
  web = await startPortal(lab, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
}, 60_000);
afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

const ROSTER = 'username,name,email,role,class\nnewcomer,New Comer,newcomer@school.example,student,cs101\n';

/** Signs in, then posts a multipart form (as a browser does without JavaScript) with the session's cookies. */
async function signedIn(username: string) {
  const browser = new TestBrowser();
  const start = await browser.get(`${web.url}/login?login_hint=${username}`, { follow: true });
  expect(start.status).toBe(200);
  const csrf = csrfOf(await start.text());
  const cookie = () =>
    [...(browser.cookies.get(web.url) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  const upload = async (
    fields: Record<string, string>,
    file?: { name: string; content: string | Uint8Array },
    origin = web.url,
    options: { fileFirst?: boolean; headers?: Record<string, string> } = {},
  ) => {
    const form = new FormData();
    const addFile = () => file && form.append('csvFile', new Blob([file.content], { type: 'text/csv' }), file.name);
    if (options.fileFirst) addFile();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (!options.fileFirst) addFile();
    const response = await fetch(`${web.url}/class/cs101/roster`, {
      method: 'POST',
      headers: { cookie: cookie(), origin, ...options.headers },
      body: form,
    });
    return { status: response.status, body: await response.text() };
  };
  /** Posts a raw body that claims to be multipart, as a forger may. */
  const raw = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${web.url}/class/cs101/roster`, {
      method: 'POST',
      headers: {
        cookie: cookie(),
        origin: web.url,
        'content-type': 'multipart/form-data; boundary=XYZ',
        ...headers,
      },
      body,
    });
    return { status: response.status, body: await response.text() };
  };
  return { browser, csrf, upload, raw };
}

describe('the roster upload (a multipart form that needs no JavaScript)', () => {
  it('offers a CSV file input in a multipart form', async () => {
    const { browser } = await signedIn('root');
    const page = await (await browser.get(`${web.url}/class/cs101/roster`)).text();
    expect(page).toContain('enctype="multipart/form-data"');
    expect(page).toMatch(/<input id="f-csv-file" name="csvFile" type="file" accept="\.csv,text\/csv"/);
  });

  it('runs an uploaded file through the same dry run, then applies it', async () => {
    const { csrf, upload } = await signedIn('root');
    const dry = await upload({ _csrf: csrf }, { name: 'roster.csv', content: ROSTER });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatch(/Dry run: 1 of 1 row\(s\) would change/);
    expect(await lab.services.store.classes.getPersonByUsername('newcomer')).toBeUndefined();
    const applied = await upload({ _csrf: csrf, apply: 'on' }, { name: 'roster.csv', content: ROSTER });
    expect(applied.body).toMatch(/Imported 1 row\(s\); 1 changed/);
    const person = (await lab.services.store.classes.getPersonByUsername('newcomer'))!;
    expect(await lab.services.store.classes.classesOf(person.id)).toEqual([
      { classId: 'cs101', personId: person.id, role: 'student' },
    ]);
    const audit = await lab.services.store.audit.list({ action: 'command.people.import', actor: 'root' });
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  it('still takes pasted text in the same multipart form', async () => {
    const { csrf, upload } = await signedIn('root');
    const pasted = await upload({ _csrf: csrf, csv: ROSTER.replace(/newcomer/g, 'pasted') });
    expect(pasted.body).toMatch(/Dry run: 1 of 1 row\(s\) would change/);
  });

  it('refuses a file over 1 MiB before any command runs', async () => {
    const { csrf, upload } = await signedIn('root');
    const big = ROSTER + 'x'.repeat(1024 * 1024 + 1);
    const refused = await upload({ _csrf: csrf, apply: 'on' }, { name: 'big.csv', content: big });
    expect(refused.status).toBe(413);
    expect(refused.body).toContain('The file is larger than 1 MiB; upload a smaller CSV file.');
    const audit = await lab.services.store.audit.list({ action: 'command.people.import', actor: 'root' });
    expect(audit.some((a) => JSON.stringify(a.details).includes('big'))).toBe(false);
    expect(await lab.services.store.classes.getPersonByUsername('xxxx')).toBeUndefined();
  });

  it('refuses an upload without the CSRF token, or from another origin, and audits it', async () => {
    const { csrf, upload } = await signedIn('root');
    const noToken = await upload({}, { name: 'roster.csv', content: ROSTER.replace(/newcomer/g, 'forged') });
    expect(noToken.status).toBe(403);
    expect(await lab.services.store.classes.getPersonByUsername('forged')).toBeUndefined();
    const elsewhere = await upload({ _csrf: csrf }, { name: 'roster.csv', content: ROSTER }, 'http://evil.example');
    expect(elsewhere.status).toBe(403);
    const denied = await lab.services.store.audit.list({ action: 'web.request', actor: 'root' });
    const reasons = denied.filter((a) => a.target === 'POST /class/cs101/roster').map((a) => a.details.reason);
    expect(reasons).toEqual(expect.arrayContaining(['csrf', 'origin']));
  });

  it('checks the CSRF token and Origin before it reads the uploaded file', async () => {
    const { csrf, upload, raw } = await signedIn('root');
    const big = ROSTER.replace(/newcomer/g, 'bigforged') + 'x'.repeat(1024 * 1024 + 1);
    const forgedBig = await upload({ apply: 'on' }, { name: 'big.csv', content: big });
    expect(forgedBig.status).toBe(403);
    const garbage = await raw('--XYZ\r\nthis is not a multipart body at all');
    expect(garbage.status).toBe(403);
    const elsewhere = await raw('--XYZ\r\nthis is not a multipart body at all', { origin: 'http://evil.example' });
    expect(elsewhere.status).toBe(403);
    const tokenAfterFile = await upload(
      { _csrf: csrf, apply: 'on' },
      { name: 'roster.csv', content: ROSTER.replace(/newcomer/g, 'latetoken') },
      web.url,
      { fileFirst: true },
    );
    expect(tokenAfterFile.status).toBe(403);
    expect(await lab.services.store.classes.getPersonByUsername('latetoken')).toBeUndefined();
    const denied = await lab.services.store.audit.list({ action: 'web.request', actor: 'root' });
    expect(denied.filter((a) => a.details.reason === 'csrf').length).toBeGreaterThanOrEqual(3);
  });

  it('takes the CSRF token from a header, whatever the order of the parts', async () => {
    const { csrf, upload } = await signedIn('root');
    const sent = await upload({}, { name: 'roster.csv', content: ROSTER.replace(/newcomer/g, 'headered') }, web.url, {
      fileFirst: true,
      headers: { 'x-csrf-token': csrf },
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatch(/Dry run: 1 of 1 row\(s\) would change/);
  });
});

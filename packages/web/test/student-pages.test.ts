import { generateKeyPairSync } from 'node:crypto';
import * as commands from '@lab/commands';
import { runningWindowsVm, startTestLab } from '@lab/proxmox-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../src/html.js';
import {
  TestBrowser,
  csrfOf,
  startPortalWithDevProvider,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;
let vmid: number;

beforeAll(async () => {
  lab = await startTestLab(commands);
  vmid = await runningWindowsVm(lab, 'alice');
  ({ provider, web } = await startPortalWithDevProvider(lab));
  lab.services.console!.publicUrl = web.url;
}, 60_000);

afterAll(async () => {
  await web?.close();
  await provider?.close();
  await lab?.close();
});

async function signedIn(username: string) {
  const browser = new TestBrowser();
  const page = await (await browser.get(`${web.url}/login?login_hint=${username}`, { follow: true })).text();
  return { browser, page, csrf: csrfOf(page) };
}

/** An OpenSSH public key line of a fresh Ed25519 key. */
function sshPublicKey(comment: string): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} ${comment}`;
}

describe('the student pages', () => {
  it('link the portal icon, which is served there and where browsers look for one', async () => {
    const { browser, page } = await signedIn('alice');
    expect(page).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />');
    for (const path of ['/assets/favicon.svg', '/favicon.ico']) {
      const icon = await browser.get(`${web.url}${path}`);
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get('content-type'), path).toBe('image/svg+xml');
      expect(await icon.text(), path).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^]*<\/svg>$/);
    }
    const signedOut = await new TestBrowser().get(`${web.url}/favicon.ico`);
    expect(signedOut.status).toBe(200);
  });

  it('offer the ssh line and the .rdp file of a running Windows VM', async () => {
    const { browser, page } = await signedIn('alice');
    expect(page).toContain(`href="/vm/${vmid}/connect"`);
    const connect = await browser.get(`${web.url}/vm/${vmid}/connect`);
    const text = await connect.text();
    expect(connect.status).toBe(200);
    expect(text).toContain('Remote Desktop');
    expect(text).toContain(`href="/vm/${vmid}/connect.rdp"`);
    const rdp = await browser.get(`${web.url}/vm/${vmid}/connect.rdp`);
    expect(rdp.headers.get('content-type')).toContain('application/x-rdp');
    expect(rdp.headers.get('content-disposition')).toMatch(/^attachment; filename="[\w.-]+\.rdp"$/);
    expect(await rdp.text()).toMatch(/full address:s:\d+\.\d+\.\d+\.\d+/);
  });

  it('send the console button to the existing console through a one-time grant made for the web identity', async () => {
    const { browser, csrf } = await signedIn('alice');
    const response = await browser.post(`${web.url}/vm/${vmid}/console`, { _csrf: csrf });
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    expect(location.startsWith(`${web.url}/console/`)).toBe(true);
    const audited = (await lab.services.store.audit.list({ action: 'command.myvm.console', actor: 'alice' }))[0];
    expect(audited).toMatchObject({ outcome: 'ok', details: { platformUserId: `web:${provider.issuer}#alice` } });
  });

  it('reset only after the confirm step; cancel changes nothing, and a used or foreign confirmation does nothing', async () => {
    const { browser, csrf } = await signedIn('alice');
    const ask = await browser.post(`${web.url}/vm/${vmid}/reset`, { _csrf: csrf });
    const askPage = await ask.text();
    expect(askPage).toContain('Please confirm');
    expect(askPage).toContain(escapeHtml('Its contents and snapshots are lost.'));
    const id = /name="id" value="([^"]+)"/.exec(askPage)![1]!;
    expect(await (await browser.post(`${web.url}/cancel`, { _csrf: csrf, id })).text()).toContain(
      'Cancelled; nothing was changed.',
    );
    const again = await (await browser.post(`${web.url}/vm/${vmid}/reset`, { _csrf: csrf })).text();
    const second = /name="id" value="([^"]+)"/.exec(again)![1]!;
    const bob = await signedIn('bob');
    const foreign = await bob.browser.post(`${web.url}/confirm`, { _csrf: bob.csrf, id: second });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('Only alice, who asked, can confirm this');
    const done = await browser.post(`${web.url}/confirm`, { _csrf: csrf, id: second });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('<h1>Done</h1>');
    expect((await lab.services.store.audit.list({ action: 'command.myvm.reset', actor: 'alice' }))[0]).toMatchObject({
      outcome: 'ok',
    });
    const replay = await browser.post(`${web.url}/confirm`, { _csrf: csrf, id: second });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('This confirmation has expired or was already used');
  });

  it('add and remove SSH keys through /myvm sshkey', async () => {
    const { browser, csrf } = await signedIn('alice');
    const key = sshPublicKey('alice@laptop');
    const added = await browser.post(`${web.url}/keys`, { _csrf: csrf, key });
    const addedPage = await added.text();
    expect(added.status).toBe(200);
    expect(addedPage).toContain('Added ssh-ed25519 SHA256:');
    const fingerprint = /<code>(SHA256:[^<]+)<\/code>/.exec(addedPage)![1]!;
    expect(addedPage).toContain('alice@laptop');
    const bad = await browser.post(`${web.url}/keys`, { _csrf: csrf, key: 'not a key' });
    expect(bad.status).toBe(400);
    const removed = await (await browser.post(`${web.url}/keys/remove`, { _csrf: csrf, key: fingerprint })).text();
    expect(removed).toContain('You have no SSH key yet.');
  });

  it('take, list, restore (after the confirm step) and delete snapshots of their own VM, and of no one else', async () => {
    const { browser, page, csrf } = await signedIn('alice');
    expect(page).toContain(`href="/vm/${vmid}/snapshots"`);
    const empty = await (await browser.get(`${web.url}/vm/${vmid}/snapshots`)).text();
    expect(empty).toContain('has no snapshot yet');
    const taken = await browser.post(`${web.url}/vm/${vmid}/snapshots`, { _csrf: csrf, name: 'before-lab2' });
    const takenPage = await taken.text();
    expect(taken.status).toBe(200);
    expect(takenPage).toContain('Took snapshot before-lab2');
    expect(takenPage).toContain('<td>before-lab2</td>');
    const badName = await browser.post(`${web.url}/vm/${vmid}/snapshots`, { _csrf: csrf, name: '2fast' });
    expect(badName.status).toBe(400);
    expect(await badName.text()).toContain('a snapshot name starts with a letter');

    const ask = await (
      await browser.post(`${web.url}/vm/${vmid}/snapshots/restore`, { _csrf: csrf, name: 'before-lab2' })
    ).text();
    expect(ask).toContain('Please confirm');
    const id = /name="id" value="([^"]+)"/.exec(ask)![1]!;
    const restored = await browser.post(`${web.url}/confirm`, { _csrf: csrf, id });
    expect(restored.status).toBe(200);
    expect(await restored.text()).toContain('is back at snapshot before-lab2');

    const bob = await signedIn('bob');
    const foreign = await bob.browser.get(`${web.url}/vm/${vmid}/snapshots`);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).not.toContain('before-lab2');
    const foreignDelete = await bob.browser.post(`${web.url}/vm/${vmid}/snapshots/delete`, {
      _csrf: bob.csrf,
      name: 'before-lab2',
    });
    expect(foreignDelete.status).toBe(400);

    const deleted = await (
      await browser.post(`${web.url}/vm/${vmid}/snapshots/delete`, { _csrf: csrf, name: 'before-lab2' })
    ).text();
    expect(deleted).toContain('Deleted snapshot before-lab2');
    expect(deleted).not.toContain('<td>before-lab2</td>');
  });

  it('show a new VM password once, to its owner only, and keep it out of the audit log', async () => {
    const { browser, csrf } = await signedIn('alice');
    const shown = await browser.post(`${web.url}/vm/${vmid}/password`, { _csrf: csrf });
    const text = await shown.text();
    expect(shown.headers.get('cache-control')).toBe('no-store');
    expect(shown.status, text).toBe(200);
    const password = /<pre><code>([^<]+)<\/code><\/pre>/.exec(text)![1]!;
    expect(password.length).toBeGreaterThanOrEqual(12);
    const audit = JSON.stringify(await lab.services.store.audit.list({ actor: 'alice' }));
    expect(audit).toContain('password');
    expect(audit).not.toContain(password);
    const bob = await signedIn('bob');
    const foreign = await bob.browser.post(`${web.url}/vm/${vmid}/password`, { _csrf: bob.csrf });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).not.toContain('<pre><code>');
  });

  it('say who or what last started or stopped each VM, as /myvm status does', async () => {
    const admin = (await lab.services.store.classes.getPersonByUsername('root'))!;
    await lab.services.power.perform(
      { personId: admin.id, username: admin.username, role: admin.role },
      'lab',
      vmid,
      'stop',
    );
    const { page } = await signedIn('alice');
    expect(page).toContain('<dt>Last action</dt>');
    expect(page).toMatch(/<dd class="why">Last stopped by an admin \(root\) at [^<]+\.<\/dd>/);
  });

  it('tell a person with no VM so, in the words of the chat replies', async () => {
    const { page } = await signedIn('bob');
    expect(page).toContain('You have no VM yet.');
  });
});

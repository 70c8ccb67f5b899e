import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { hashConsoleToken } from '@lab/proxmox-sdk';
import type { SimVncProxy } from '@lab/pve-sim';
import { labPrivilegeRequirements, missingPrivileges } from '@lab/proxmox-sdk/pve';
import { CONSOLE_CSP } from '../src/index.js';
import {
  consoleLab,
  http,
  openLink,
  openViewer,
  viewerHandshake,
  type ConsoleLab,
  type TestViewer,
} from './console-fixture.js';

let lab: ConsoleLab;
const issued: SimVncProxy[] = [];
beforeAll(async () => {
  lab = await consoleLab();
  const open = lab.sim.vnc.open.bind(lab.sim.vnc);
  lab.sim.vnc.open = (facts) => {
    const proxy = open(facts);
    issued.push(proxy);
    return proxy;
  };
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

async function openedViewer(
  username: 'alice' | 'bob' | 'lovelace',
  vm?: string,
): Promise<{ viewer: TestViewer; name: string }> {
  const { url } = await lab.link(username, vm);
  const opened = await openLink(lab, url!);
  if (!('wsUrl' in opened)) throw new Error(`link refused: ${opened.status} ${opened.body}`);
  const viewer = await openViewer(opened.wsUrl, lab.url);
  if (!('ws' in viewer)) throw new Error(`WebSocket refused: ${viewer.status}`);
  return { viewer, name: (await viewerHandshake(viewer)).name };
}

const audits = async (action: string) => (await lab.store.audit.list({ action })).reverse();

describe('/myvm console links', () => {
  it('needs VM.Console of the token, which lab doctor checks once console.publicUrl is set', () => {
    const vmAdminButConsole = {
      '/': { 'Sys.Audit': 1 },
      '/vms': {
        'VM.Clone': 1,
        'VM.Allocate': 1,
        'VM.Config.Disk': 1,
        'VM.Config.CPU': 1,
        'VM.Config.Memory': 1,
        'VM.Config.Network': 1,
        'VM.Config.Options': 1,
        'VM.Config.Cloudinit': 1,
        'VM.PowerMgmt': 1,
        'VM.Audit': 1,
        'VM.GuestAgent.Audit': 1,
      },
      '/storage': { 'Datastore.AllocateSpace': 1, 'Datastore.Audit': 1 },
      '/sdn/zones/localnetwork': { 'SDN.Use': 1 },
    };
    expect(missingPrivileges(vmAdminButConsole, labPrivilegeRequirements('9.1.3'))).toEqual([]);
    expect(missingPrivileges(vmAdminButConsole, labPrivilegeRequirements('9.1.3', { console: true }))).toEqual([
      expect.objectContaining({ path: '/vms', role: 'PVEVMUser', missing: ['VM.Console'] }),
    ]);
  });

  it('is a one-time link with a 256-bit token of which the store keeps only the hash', async () => {
    const { url, text } = await lab.link('alice');
    expect(text).toMatch(
      /^Console of dns \(100\): http:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]{43}\nOpen it within 60 s; it works once and the session lasts up to 30 min\./,
    );
    const token = url!.split('/').pop()!;
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const grant = await lab.store.consoleGrants.get(hashConsoleToken(token));
    expect(grant).toMatchObject({
      clusterId: 'lab',
      vmid: 100,
      platform: 'slack',
      platformUserId: 'UALICE',
      usedAt: null,
    });
    const rows = await sql<Record<string, unknown>>`select * from console_grants`.execute(lab.store.db);
    expect(JSON.stringify(rows.rows)).not.toContain(token);
  });

  it('opens once: the second opening of the same link is refused', async () => {
    const { url } = await lab.link('alice');
    const first = await openLink(lab, url!);
    expect(first).toMatchObject({ vmName: 'dns' });
    const page = await http(url!);
    expect(page.status).toBe(410);
    expect(page.body).toContain(
      'This console link was already opened; each link opens once, so ask for a new one with /myvm console.',
    );
    const again = await http(`${url}/session`, { method: 'POST', origin: lab.url });
    expect(again.status).toBe(410);
    expect(JSON.parse(again.body)).toMatchObject({ code: 'LAB_CONSOLE_LINK_USED' });
  });

  it('expires unopened after its time to live (60 s by default)', async () => {
    const { url } = await lab.link('alice');
    lab.clock.advance(61_000);
    const page = await http(url!);
    expect(page.status).toBe(410);
    expect(page.body).toContain(
      'This console link has expired; ask for a new one with /myvm console and open it within a minute.',
    );
    expect((await http(`${url}/session`, { method: 'POST', origin: lab.url })).status).toBe(410);
  });

  it('serves the page with a strict CSP and noVNC from the installed package, and answers a made-up token 404', async () => {
    const { url } = await lab.link('alice');
    const page = await http(url!);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(page.body).not.toMatch(/https?:\/\//); // no third-party origin
    const rfb = await http(`${lab.url}/console/novnc/core/rfb.js`);
    expect(rfb.status).toBe(200);
    expect(rfb.body).toContain('export default class RFB');
    expect((await http(`${lab.url}/console/novnc/../package.json`)).status).toBe(404);
    expect((await http(`${lab.url}/console/${'x'.repeat(43)}`)).status).toBe(404);
  });

  it('takes the session only from the public URL origin', async () => {
    const { url } = await lab.link('alice');
    expect((await http(`${url}/session`, { method: 'POST', origin: 'http://evil.example' })).status).toBe(403);
    const opened = await openLink(lab, url!);
    if (!('wsUrl' in opened)) throw new Error('not opened');
    expect(await openViewer(opened.wsUrl, 'http://evil.example')).toEqual({ status: 403 });
    // The refused attempt did not use the session up: the right origin still connects.
    const viewer = await openViewer(opened.wsUrl, lab.url);
    expect('ws' in viewer).toBe(true);
    if ('ws' in viewer) {
      expect((await viewerHandshake(viewer)).name).toBe('dns');
      viewer.ws.close();
    }
  });

  it('binds a session to its VM: it does not open another VM, and a student gets no link to a classmate VM', async () => {
    const { url } = await lab.link('bob');
    const opened = await openLink(lab, url!);
    if (!('wsUrl' in opened)) throw new Error('not opened');
    expect(await openViewer(opened.wsUrl.replace('/lab/101/', '/lab/100/'), lab.url)).toEqual({ status: 403 });
    const refused = await lab.link('bob', '100');
    expect(refused.url).toBeUndefined();
    expect(refused.text).toBe("You have no VM '100'. Yours: gitlab (101)");
  });

  it('lets a teacher open a student VM of their class, and refuses a stopped VM with what to do', async () => {
    const { name, viewer } = await openedViewer('lovelace', '100');
    expect(name).toBe('dns');
    viewer.ws.close();
    expect((await lab.link('lovelace', '102')).text).toMatch(/^You may not open a VM '102'/);
    expect((await lab.link('carol')).text).toBe('backup is stopped; start it first with /myvm start.');
  });

  it('relays the VM screen and never sends the browser a PVE credential, auditing open and close with the chat identity', async () => {
    const before = (await audits('console.open')).length;
    const { viewer, name } = await openedViewer('alice');
    expect(name).toBe('dns');
    const request = Buffer.from([3, 0, 0, 0, 0, 0, 2, 128, 1, 144]); // full 640×400 update
    viewer.ws.send(request);
    const header = await viewer.read(16);
    expect(header.readUInt16BE(8)).toBe(640);
    await viewer.read(640 * 400 * 4);
    viewer.ws.close();
    await viewer.closed;
    await expect
      .poll(async () => (await audits('console.close')).filter((a) => a.details.reason === 'closed').length, {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    const opens = await audits('console.open');
    expect(opens.length).toBe(before + 1);
    expect(opens.at(-1)).toMatchObject({
      actor: 'alice',
      target: 'vm lab/100',
      outcome: 'ok',
      details: { platform: 'slack', platformUserId: 'UALICE', vmName: 'dns' },
    });
    const all = Buffer.concat(viewer.received).toString('latin1');
    for (const secret of [lab.sim.tokenSecret, 'PVEVNC', 'PVEAPIToken', 'PVEAuthCookie'])
      expect(all).not.toContain(secret);
    expect(issued.length).toBeGreaterThan(0);
    for (const proxy of issued) {
      expect(all).not.toContain(proxy.password);
      expect(all).not.toContain(proxy.ticket);
    }
  });

  it('holds a bounded amount of screen data for a viewer that reads slowly, and loses none of it', async () => {
    const { viewer } = await openedViewer('alice');
    const frame = 16 + 640 * 400 * 4;
    const frames = 24;
    viewer.ws.pause(); // the browser stops reading: its socket fills up
    for (let i = 0; i < frames; i++) viewer.ws.send(Buffer.from([3, 0, 0, 0, 0, 0, 2, 128, 1, 144]));
    // Watch what the relay holds until it stops changing: PVE is then paused, or everything is buffered.
    let most = 0;
    let last = -1;
    let steady = 0;
    while (steady < 10) {
      await new Promise((r) => setTimeout(r, 50));
      const now = lab.console.bufferedBytes;
      most = Math.max(most, now);
      steady = now === last ? steady + 1 : 0;
      last = now;
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThan(6 * 1024 * 1024); // without backpressure it would hold most of the 24.6 MB asked for
    const got = () => viewer.received.reduce((n, b) => n + b.length, 0);
    const before = got();
    viewer.ws.resume();
    await expect.poll(got, { timeout: 30_000 }).toBe(before + frames * frame);
    expect(lab.console.bufferedBytes).toBe(0);
    viewer.ws.close();
    await viewer.closed;
  });

  it('ends the session when the VM stops', async () => {
    const { viewer } = await openedViewer('bob');
    lab.sim.ops.power('pve2', 101, 'qemu', 'stop', 'root@pam');
    expect(await viewer.closed).toEqual({
      code: 4000,
      reason: 'The VM stopped, so its console closed; start it with /myvm start and ask for a new link.',
    });
    await expect
      .poll(async () => (await audits('console.close')).at(-1)?.details.reason, { timeout: 10_000 })
      .toBe('vm-stopped');
    lab.sim.state.guests.get(101)!.status = 'running';
  });

  it('ends the session when the assignment is revoked', async () => {
    const { viewer } = await openedViewer('alice');
    await lab.store.classes.unassignVm('lab', 100);
    expect(await viewer.closed).toEqual({
      code: 4000,
      reason: 'You may no longer open this VM, so its console closed; ask your teacher if that is wrong.',
    });
    const close = (await audits('console.close')).at(-1);
    expect(close).toMatchObject({
      actor: 'alice',
      target: 'vm lab/100',
      details: { reason: 'access-revoked', platform: 'slack', platformUserId: 'UALICE' },
    });
    const alice = await lab.store.classes.getPersonByUsername('alice');
    await lab.store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: alice!.id, classId: 'cs101', role: 'student' },
      1,
    );
  });

  it('ends the session at its time limit', async () => {
    const { viewer } = await openedViewer('alice');
    lab.clock.advance(30 * 60_000 + 1);
    expect(await viewer.closed).toEqual({
      code: 4000,
      reason: 'The console session reached its time limit; ask for a new link with /myvm console.',
    });
    await expect
      .poll(async () => (await audits('console.close')).at(-1)?.details.reason, { timeout: 10_000 })
      .toBe('time-limit');
  });
});

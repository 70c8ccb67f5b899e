import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ConsoleGrants, hashConsoleToken, type Clock, type Store } from '../src/index.js';
import {
  ConsoleLinkExpiredError,
  ConsoleLinkUnknownError,
  ConsoleLinkUsedError,
  ConsoleNotYoursError,
  ConsoleSessionUnknownError,
  ConsoleWrongVmError,
  NotAllowedError,
  VncHandshakeError,
} from '../src/errors/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { authenticateToVncServer, greetVncViewerWithoutAuth } from '../src/console/rfb-handshake.js';
import { streamReader } from '../src/console/stream-reader.js';
import { vncAuthResponse } from '../src/console/vnc-des.js';

function clockAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: async () => undefined, advance: (ms) => (now += ms) };
}

async function school(): Promise<{
  store: Store;
  clock: ReturnType<typeof clockAt>;
  grants: ConsoleGrants;
  viewer: (username: string) => Promise<{ personId: number; username: string; role: 'admin' | 'teacher' | 'student' }>;
}> {
  const store = createMemoryStore();
  const clock = clockAt(1_700_000_000_000);
  const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'L', role: 'teacher' }, 1);
  const other = await store.classes.createPerson({ username: 'hopper', displayName: 'H', role: 'teacher' }, 1);
  await store.classes.createPerson({ username: 'root', displayName: 'R', role: 'admin' }, 1);
  const ann = await store.classes.createPerson({ username: 'ann', displayName: 'A', role: 'student' }, 1);
  const ben = await store.classes.createPerson({ username: 'ben', displayName: 'B', role: 'student' }, 1);
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: teacher.id }, 1);
  await store.classes.createClass({ id: 'cs202', name: 'CS2', templateId: null, ownerId: other.id }, 1);
  await store.classes.assignVm({ clusterId: 'lab', vmid: 100, personId: ann.id, classId: 'cs101', role: 'student' }, 1);
  await store.classes.assignVm({ clusterId: 'lab', vmid: 101, personId: ben.id, classId: 'cs101', role: 'student' }, 1);
  const viewer = async (username: string) => {
    const p = (await store.classes.getPersonByUsername(username))!;
    return { personId: p.id, username: p.username, role: p.role };
  };
  return {
    store,
    clock,
    grants: new ConsoleGrants({ store, clock, linkTtlMs: 60_000, sessionMaxMs: 600_000 }),
    viewer,
  };
}

const from = (viewer: Awaited<ReturnType<Awaited<ReturnType<typeof school>>['viewer']>>) => ({
  viewer,
  platform: 'discord',
  platformUserId: `${viewer.username}-id`,
});

describe('console grants', () => {
  it('are issued to the VM owner, their teacher and admins only', async () => {
    const { grants, viewer } = await school();
    await expect(grants.issue(from(await viewer('ann')), { clusterId: 'lab', vmid: 100 })).resolves.toMatchObject({
      grant: { vmid: 100, sessionMaxMs: 600_000 },
    });
    await expect(grants.issue(from(await viewer('lovelace')), { clusterId: 'lab', vmid: 100 })).resolves.toBeDefined();
    await expect(grants.issue(from(await viewer('root')), { clusterId: 'lab', vmid: 100 })).resolves.toBeDefined();
    await expect(grants.issue(from(await viewer('ben')), { clusterId: 'lab', vmid: 100 })).rejects.toThrow(
      new NotAllowedError({
        actor: 'ben',
        action: 'open the console of',
        target: 'VM 100',
        reason: 'it is not assigned to you',
      }),
    );
    await expect(grants.issue(from(await viewer('hopper')), { clusterId: 'lab', vmid: 100 })).rejects.toBeInstanceOf(
      NotAllowedError,
    );
  });

  it('open once, within their time to live, and hand out a session for their VM only', async () => {
    const { grants, viewer, clock, store } = await school();
    const { token } = await grants.issue(from(await viewer('ann')), { clusterId: 'lab', vmid: 100 });
    expect((await store.consoleGrants.get(hashConsoleToken(token)))?.tokenHash).toBe(hashConsoleToken(token));
    const { sessionId, grant } = await grants.openLink(token);
    expect(grant.person.username).toBe('ann');
    await expect(grants.openLink(token)).rejects.toBeInstanceOf(ConsoleLinkUsedError);
    await expect(grants.attach(sessionId, { clusterId: 'lab', vmid: 101 })).rejects.toBeInstanceOf(ConsoleWrongVmError);
    // The wrong-VM attempt took the session: a page session connects once.
    await expect(grants.attach(sessionId, { clusterId: 'lab', vmid: 100 })).rejects.toBeInstanceOf(
      ConsoleSessionUnknownError,
    );
    const late = await grants.issue(from(await viewer('ann')), { clusterId: 'lab', vmid: 100 });
    clock.advance(60_001);
    await expect(grants.openLink(late.token)).rejects.toBeInstanceOf(ConsoleLinkExpiredError);
    await expect(grants.openLink('not-a-token')).rejects.toBeInstanceOf(ConsoleLinkUnknownError);
    // Each refused use of ann's links is audited as hers, with the chat account the link was made for.
    const refused = (await store.audit.list({ actor: 'ann', action: 'console.open' })).filter(
      (a) => a.outcome === 'denied',
    );
    expect(refused.map((a) => (a.details as { reason: string }).reason).sort()).toEqual([
      'the link expired',
      'the link was opened already',
      'wrong VM (asked for lab/101)',
    ]);
    expect(refused[0]!.details).toMatchObject({ platform: 'discord' });
  });

  it('refuse a link whose VM was reassigned before it was opened', async () => {
    const { grants, viewer, store } = await school();
    const { token } = await grants.issue(from(await viewer('ann')), { clusterId: 'lab', vmid: 100 });
    await store.classes.assignVm(
      { clusterId: 'lab', vmid: 100, personId: (await viewer('ben')).personId, classId: 'cs101', role: 'student' },
      2,
    );
    await expect(grants.openLink(token)).rejects.toBeInstanceOf(ConsoleNotYoursError);
  });
});

describe('the RFB security handshake of the relay', () => {
  it('answers the VNC challenge as noVNC computes it', async () => {
    const challenge = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    // noVNC's own DES (what a browser would compute) checks the relay's independently.
    const novnc = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
    const { DESECBCipher } = (await import(pathToFileURL(join(novnc, 'core/crypto/des.js')).href)) as {
      DESECBCipher: { importKey(key: number[]): { encrypt(algorithm: null, data: Uint8Array): Uint8Array } };
    };
    const expected = DESECBCipher.importKey([...Buffer.from('Ab1!xyz`')]).encrypt(null, challenge);
    expect(Buffer.from(vncAuthResponse('Ab1!xyz`', challenge))).toEqual(Buffer.from(expected));
  });

  it('authenticates to a server with VNC Authentication and greets a viewer with None, as two ends of one conversation', async () => {
    // The relay's two halves talk to each other: the viewer side plays the server for the client side.
    const toClient = new PassThrough();
    const toServer = new PassThrough();
    const client = authenticateToVncServer(streamReader(toClient), (b) => toServer.write(b), 'secret!!');
    const server = greetVncViewerWithoutAuth(streamReader(toServer), (b) => toClient.write(b));
    await Promise.all([client, server]);
    expect(toClient.readableLength + toServer.readableLength).toBe(0);
  });

  it('reports a refused password with the server reason', async () => {
    const fromServer = new PassThrough();
    const sent: Buffer[] = [];
    const done = authenticateToVncServer(streamReader(fromServer), (b) => sent.push(Buffer.from(b)), 'pw');
    fromServer.write(Buffer.from('RFB 003.008\n'));
    fromServer.write(Buffer.from([1, 2]));
    fromServer.write(Buffer.alloc(16));
    const reason = Buffer.from('Authentication failed');
    const result = Buffer.alloc(8);
    result.writeUInt32BE(1, 0);
    result.writeUInt32BE(reason.length, 4);
    fromServer.write(Buffer.concat([result, reason]));
    await expect(done).rejects.toThrow(new VncHandshakeError('it refused the VNC password: Authentication failed'));
    expect(sent.map((b) => b.length)).toEqual([12, 1, 16]);
  });

  it('reads exact lengths across chunks and leaves what follows in the stream for the pipe', async () => {
    const stream = new PassThrough();
    const reader = streamReader(stream);
    const first = reader.read(5);
    stream.write(Buffer.from('ab'));
    stream.write(Buffer.from('cdefgh'));
    expect((await first).toString()).toBe('abcde');
    const sink = new PassThrough();
    stream.pipe(sink);
    stream.end(Buffer.from('ij'));
    const rest: Buffer[] = [];
    for await (const chunk of sink) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).toString()).toBe('fghij');
  });

  it('fails a read when the stream ends before the bytes arrive', async () => {
    const stream = new PassThrough();
    const read = streamReader(stream).read(12);
    stream.end(Buffer.from('RFB 003'));
    await expect(read).rejects.toThrow(new VncHandshakeError('the connection closed after 7 of 12 bytes'));
    await expect(streamReader(stream).read(1)).rejects.toThrow(VncHandshakeError);
  });
});

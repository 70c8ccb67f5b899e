import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { renderVmScreen, startPveSim, type PveSim } from '../src/index.js';
import { desEncryptBlock, vncAuthResponse } from '../src/vnc/vnc-des.js';
import { call, taskLog, waitTask } from './helpers.js';

// Simulated time runs 5× faster: ticket (40 s), accept (10 s) and password (30 s) limits stay far
// from a slow machine's latencies, and refused logins wait 0.6 s instead of 3 s.
let sim: PveSim;
beforeAll(async () => {
  sim = await startPveSim({ timeScale: 5 });
});
afterAll(async () => {
  await sim.close();
});

interface Proxy {
  port: number;
  ticket: string;
  password: string;
  upid: string;
  user: string;
  cert: string;
}

async function vncproxy(node: string, vmid: number): Promise<Proxy> {
  const r = await call(sim, 'POST', `/nodes/${node}/qemu/${vmid}/vncproxy`, { params: { websocket: 1 } });
  expect(r.status, r.reason).toBe(200);
  return r.body.data as Proxy;
}

/** A WebSocket client of `vncwebsocket` whose received bytes can be read in exact lengths. */
async function openVncSocket(
  path: string,
  headers: Record<string, string>,
): Promise<
  { ws: WebSocket; read: (n: number) => Promise<Buffer>; closed: Promise<number> } | { status: number; reason: string }
> {
  const ws = new WebSocket(`${sim.url.replace('https', 'wss')}/api2/json${path}`, ['binary'], { ca: sim.ca, headers });
  let buffer = Buffer.alloc(0);
  let wake = () => undefined as void;
  ws.on('message', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    wake();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const read = async (n: number): Promise<Buffer> => {
    while (buffer.length < n) {
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed with ${buffer.length} of ${n} bytes`);
      await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    }
    const out = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return out;
  };
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, read, closed }));
    ws.once('unexpected-response', (_req, res) =>
      resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '' }),
    );
    ws.once('error', () => resolve({ status: 0, reason: 'connection dropped' }));
  });
}

const token = () => ({ authorization: `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}` });
const wsPath = (node: string, vmid: number, p: Proxy) =>
  `/nodes/${node}/qemu/${vmid}/vncwebsocket?port=${p.port}&vncticket=${encodeURIComponent(p.ticket)}`;

async function handshake(
  socket: { ws: WebSocket; read: (n: number) => Promise<Buffer> },
  password: string,
): Promise<number> {
  expect((await socket.read(12)).toString('latin1')).toBe('RFB 003.008\n');
  socket.ws.send(Buffer.from('RFB 003.008\n'));
  expect([...(await socket.read(2))]).toEqual([1, 2]); // one security type: VNC Authentication
  socket.ws.send(Buffer.from([2]));
  socket.ws.send(Buffer.from(vncAuthResponse(password, await socket.read(16))));
  return (await socket.read(4)).readUInt32BE(0);
}

describe('the simulated VNC console (vncproxy + vncwebsocket)', () => {
  it('DES gives the FIPS test vectors', () => {
    expect(
      Buffer.from(
        desEncryptBlock(Buffer.from('133457799BBCDFF1', 'hex'), Buffer.from('0123456789ABCDEF', 'hex')),
      ).toString('hex'),
    ).toBe('85e813540f0ab405');
    expect(
      Buffer.from(
        desEncryptBlock(Buffer.from('0E329232EA6D0D73', 'hex'), Buffer.from('8787878787878787', 'hex')),
      ).toString('hex'),
    ).toBe('0000000000000000');
  });

  it('answers vncproxy like PVE 8+: a port from 5900, a password-prefixed PVEVNC ticket, the CA and a running task', async () => {
    const p = await vncproxy('pve1', 100);
    expect(p.port).toBeGreaterThanOrEqual(5900);
    expect(p.port).toBeLessThanOrEqual(5999);
    expect(p.password).toMatch(/^[!-`]{8}$/);
    expect(p.ticket.startsWith(`${p.password}:PVEVNC:`)).toBe(true);
    expect(p.user).toBe(sim.tokenId);
    expect(p.cert).toContain('BEGIN CERTIFICATE');
    expect(p.upid).toMatch(/^UPID:pve1:.*:vncproxy:100:/);
    const plain = await call(sim, 'GET', wsPath('pve1', 100, p).replace(/\?.*/, ''), {
      params: { port: p.port, vncticket: p.ticket },
    });
    expect(plain.body.data).toEqual({ port: String(p.port) });
  });

  it('serves RFB 3.8 with VNC Authentication, the VM name in ServerInit and a framebuffer that shows it', async () => {
    const p = await vncproxy('pve1', 100);
    const socket = await openVncSocket(wsPath('pve1', 100, p), token());
    if (!('ws' in socket)) throw new Error(`upgrade refused: ${socket.status} ${socket.reason}`);
    expect(await handshake(socket, p.password)).toBe(0);
    socket.ws.send(Buffer.from([1])); // ClientInit, shared
    const init = await socket.read(24);
    const [width, height] = [init.readUInt16BE(0), init.readUInt16BE(2)];
    expect((await socket.read(init.readUInt32BE(20))).toString()).toBe('dns');
    // Ask for RGBX (noVNC's format): red in the lowest byte.
    const spf = Buffer.alloc(20);
    spf.writeUInt8(0, 0);
    spf.set([32, 24, 0, 1], 4);
    spf.writeUInt16BE(255, 8);
    spf.writeUInt16BE(255, 10);
    spf.writeUInt16BE(255, 12);
    spf.set([0, 8, 16], 14);
    const request = Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    request.writeUInt16BE(width, 6);
    request.writeUInt16BE(height, 8);
    socket.ws.send(Buffer.concat([spf, request]));
    const update = await socket.read(16);
    expect(update.readUInt16BE(2)).toBe(1);
    expect(update.readInt32BE(12)).toBe(0); // Raw
    const pixels = await socket.read(width * height * 4);
    const expected = renderVmScreen('dns', 100);
    let differing = 0;
    for (let i = 0; i < width * height; i++)
      if (
        pixels[i * 4] !== expected.rgb[i * 3] ||
        pixels[i * 4 + 1] !== expected.rgb[i * 3 + 1] ||
        pixels[i * 4 + 2] !== expected.rgb[i * 3 + 2]
      )
        differing++;
    expect(differing).toBe(0);
    expect(new Set(Array.from({ length: width * height }, (_, i) => pixels.readUInt32LE(i * 4))).size).toBe(3); // bar, background, text
    socket.ws.close();
    expect(await waitTask(sim, p.upid)).toMatchObject({ exitstatus: 'OK' });
  });

  it('refuses a wrong VNC password with "Authentication failed"', async () => {
    const p = await vncproxy('pve1', 100);
    const socket = await openVncSocket(wsPath('pve1', 100, p), token());
    if (!('ws' in socket)) throw new Error('upgrade refused');
    expect(await handshake(socket, 'wrongpw!')).toBe(1);
    const length = (await socket.read(4)).readUInt32BE(0);
    expect((await socket.read(length)).toString()).toBe('Authentication failed');
    await socket.closed;
    expect((await waitTask(sim, p.upid)).exitstatus).toBe('authentication failed');
  });

  it('authenticates the upgrade like the API: no credentials 401, a ticket for another port or VM 500, no VM.Console 403', async () => {
    const p = await vncproxy('pve1', 100);
    expect(await openVncSocket(wsPath('pve1', 100, p), {})).toEqual({ status: 401, reason: 'No ticket' });
    expect(await openVncSocket(wsPath('pve1', 100, { ...p, port: p.port + 1 }), token())).toEqual({
      status: 500,
      reason: 'permission denied - invalid PVEVNC ticket',
    });
    expect(await openVncSocket(wsPath('pve2', 101, p), token())).toEqual({
      status: 500,
      reason: 'permission denied - invalid PVEVNC ticket',
    });
    expect(await openVncSocket(`/nodes/pve1/qemu/100/vncwebsocket?port=${p.port}`, token())).toMatchObject({
      status: 400,
    });
    sim.auth.addToken({ tokenId: 'viewer@pve!t', secret: 'viewer-secret', privsep: false });
    expect(
      await openVncSocket(wsPath('pve1', 100, p), { authorization: 'PVEAPIToken=viewer@pve!t=viewer-secret' }),
    ).toMatchObject({ status: 403 });
  });

  it('connects a proxy once: a second WebSocket with the same ticket is dropped', async () => {
    const p = await vncproxy('pve1', 100);
    const first = await openVncSocket(wsPath('pve1', 100, p), token());
    expect('ws' in first).toBe(true);
    expect(await openVncSocket(wsPath('pve1', 100, p), token())).toEqual({ status: 0, reason: 'connection dropped' });
    if ('ws' in first) first.ws.close();
  });

  it('closes the WebSocket of a stopped VM at once, and fails the proxy task as qm vncproxy does', async () => {
    const p = await vncproxy('pve3', 102);
    const socket = await openVncSocket(wsPath('pve3', 102, p), token());
    if (!('ws' in socket)) throw new Error('upgrade refused');
    await socket.closed;
    await expect(socket.read(1)).rejects.toThrow(/closed/);
    expect((await waitTask(sim, p.upid)).exitstatus).toBe('VM 102 not running');
    expect((await taskLog(sim, p.upid)).at(-1)).toBe('TASK ERROR: VM 102 not running');
  });

  it('closes an open console when its VM stops', async () => {
    const p = await vncproxy('pve2', 101);
    const socket = await openVncSocket(wsPath('pve2', 101, p), token());
    if (!('ws' in socket)) throw new Error('upgrade refused');
    expect(await handshake(socket, p.password)).toBe(0);
    const stop = await call(sim, 'POST', '/nodes/pve2/qemu/101/status/stop');
    await waitTask(sim, stop.body.data as string);
    expect(await socket.closed).toBe(1006);
  });
});

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import { vncAuthResponse } from './vnc-des.js';
import type { VmScreen } from './vm-screen.js';

/** What one RFB connection serves. */
export interface RfbSession {
  /** The desktop name of ServerInit (QEMU's `-name`: PVE sets the VM's name). */
  name: string;
  /** The VNC password (PVE sets it with `set_password vnc`). */
  password: string;
  /** Simulated ms after which the password no longer works (`expire_password +30`). */
  passwordExpiresAt: number;
  now: () => number;
  screen: () => VmScreen;
  /** Told when the connection ends; `error` when the viewer broke the protocol or failed to authenticate. */
  onEnd: (error?: string) => void;
}

interface PixelFormat {
  bitsPerPixel: number;
  bigEndian: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

const DEFAULT_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  bigEndian: false,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** Bytes of a WebSocket read in exact lengths. */
class Reader {
  #buffer = Buffer.alloc(0);
  #waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #closed = false;

  push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#wake();
  }

  close(): void {
    this.#closed = true;
    this.#wake();
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    if (!w) return;
    if (this.#buffer.length >= w.n) {
      this.#waiter = undefined;
      const out = this.#buffer.subarray(0, w.n);
      this.#buffer = this.#buffer.subarray(w.n);
      w.resolve(out);
    } else if (this.#closed) {
      this.#waiter = undefined;
      w.reject(new Error('connection closed'));
    }
  }
}

function encodeScreen(screen: VmScreen, pf: PixelFormat): Buffer {
  const bytes = pf.bitsPerPixel / 8;
  const out = Buffer.alloc(screen.width * screen.height * bytes);
  for (let i = 0; i < screen.width * screen.height; i++) {
    const [r, g, b] = [screen.rgb[i * 3]!, screen.rgb[i * 3 + 1]!, screen.rgb[i * 3 + 2]!];
    const value =
      ((Math.round((r * pf.redMax) / 255) << pf.redShift) |
        (Math.round((g * pf.greenMax) / 255) << pf.greenShift) |
        (Math.round((b * pf.blueMax) / 255) << pf.blueShift)) >>>
      0;
    if (bytes === 4) {
      if (pf.bigEndian) out.writeUInt32BE(value, i * 4);
      else out.writeUInt32LE(value, i * 4);
    } else if (bytes === 2) {
      if (pf.bigEndian) out.writeUInt16BE(value & 0xffff, i * 2);
      else out.writeUInt16LE(value & 0xffff, i * 2);
    } else out[i] = value & 0xff;
  }
  return out;
}

function serverInit(screen: VmScreen, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const head = Buffer.alloc(24);
  head.writeUInt16BE(screen.width, 0);
  head.writeUInt16BE(screen.height, 2);
  head.writeUInt8(32, 4); // bits per pixel
  head.writeUInt8(24, 5); // depth
  head.writeUInt8(0, 6); // little endian
  head.writeUInt8(1, 7); // true colour
  head.writeUInt16BE(255, 8);
  head.writeUInt16BE(255, 10);
  head.writeUInt16BE(255, 12);
  head.writeUInt8(16, 14);
  head.writeUInt8(8, 15);
  head.writeUInt8(0, 16);
  head.writeUInt32BE(nameBytes.length, 20);
  return Buffer.concat([head, nameBytes]);
}

function failure(reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(8);
  out.writeUInt32BE(1, 0);
  out.writeUInt32BE(text.length, 4);
  return Buffer.concat([out, text]);
}

/**
 * Serves a minimal RFB 3.8 server over `socket`, as QEMU's VNC server answers behind PVE's
 * `vncwebsocket`: VNC Authentication with the proxy's password, ServerInit with the VM's name,
 * and Raw-encoded full frames of `screen()` on non-incremental update requests (an incremental
 * request waits: the screen never changes). Key, pointer and clipboard input are read and ignored.
 */
export function serveRfb(socket: WebSocket, session: RfbSession): void {
  const reader = new Reader();
  const send = (bytes: Buffer) => {
    if (socket.readyState === socket.OPEN) socket.send(bytes);
  };
  let ended = false;
  const end = (error?: string) => {
    if (ended) return;
    ended = true;
    reader.close();
    session.onEnd(error);
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close();
  };
  socket.on('message', (data: Buffer) => reader.push(Buffer.isBuffer(data) ? data : Buffer.from(data)));
  socket.on('close', () => end());
  socket.on('error', () => end());

  const run = async (): Promise<void> => {
    send(Buffer.from('RFB 003.008\n', 'latin1'));
    const version = /^RFB 003\.00([378])\n$/.exec((await reader.read(12)).toString('latin1'));
    if (!version) throw new Error('unsupported RFB version');
    const minor = Number(version[1]);
    if (minor === 3) send(Buffer.from([0, 0, 0, 2]));
    else {
      send(Buffer.from([1, 2]));
      const choice = (await reader.read(1))[0];
      if (choice !== 2) {
        if (minor === 8) send(failure('Authentication failed'));
        throw new Error(`security type ${choice} not offered`);
      }
    }
    const challenge = randomBytes(16);
    send(challenge);
    const response = await reader.read(16);
    const expected = Buffer.from(vncAuthResponse(session.password, challenge));
    if (session.now() > session.passwordExpiresAt || !timingSafeEqual(response, expected)) {
      send(minor === 8 ? failure('Authentication failed') : Buffer.from([0, 0, 0, 1]));
      throw new Error('authentication failed');
    }
    send(Buffer.from([0, 0, 0, 0]));
    await reader.read(1); // ClientInit: shared flag
    const screen = session.screen();
    send(serverInit(screen, session.name));
    let format = DEFAULT_FORMAT;
    for (;;) {
      const type = (await reader.read(1))[0];
      if (type === 0) {
        const m = await reader.read(19);
        format = {
          bitsPerPixel: m[3]!,
          bigEndian: m[5] !== 0,
          redMax: m.readUInt16BE(7),
          greenMax: m.readUInt16BE(9),
          blueMax: m.readUInt16BE(11),
          redShift: m[13]!,
          greenShift: m[14]!,
          blueShift: m[15]!,
        };
        if (![8, 16, 32].includes(format.bitsPerPixel))
          throw new Error(`unsupported bits per pixel ${format.bitsPerPixel}`);
      } else if (type === 2) {
        const count = (await reader.read(3)).readUInt16BE(1);
        await reader.read(count * 4);
      } else if (type === 3) {
        const incremental = (await reader.read(9))[0] !== 0;
        if (incremental) continue;
        const header = Buffer.alloc(16);
        header.writeUInt8(0, 0); // FramebufferUpdate
        header.writeUInt16BE(1, 2); // one rectangle
        header.writeUInt16BE(screen.width, 8);
        header.writeUInt16BE(screen.height, 10);
        header.writeInt32BE(0, 12); // Raw
        send(Buffer.concat([header, encodeScreen(screen, format)]));
      } else if (type === 4) await reader.read(7);
      else if (type === 5) await reader.read(5);
      else if (type === 6) await reader.read((await reader.read(7)).readUInt32BE(3));
      else throw new Error(`unknown client message type ${type}`);
    }
  };
  run().then(
    () => end(),
    (error: Error) => end(ended ? undefined : error.message),
  );
}

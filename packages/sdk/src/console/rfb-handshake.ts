import { VncHandshakeError } from './console-errors.js';
import type { ByteReader } from './stream-reader.js';
import { vncAuthResponse } from './vnc-des.js';

/** RFB security types (RFC 6143 §7.2). */
const NONE = 1;
const VNC_AUTH = 2;
const VERSION_3_8 = 'RFB 003.008\n';

function minorOf(version: Buffer): number {
  const match = /^RFB 003\.(\d{3})\n$/.exec(version.toString('latin1'));
  if (!match) throw new VncHandshakeError('it did not start with an RFB version');
  return Number(match[1]);
}

async function failureReason(input: ByteReader): Promise<string> {
  const length = (await input.read(4)).readUInt32BE(0);
  return (await input.read(Math.min(length, 1024))).toString('utf8');
}

/**
 * Authenticates to a VNC server as a client, up to the end of the security handshake (RFC 6143
 * §7.1–7.2): RFB 3.8 (or 3.7), "VNC Authentication" with `password` (what PVE's `vncproxy` gives
 * for a WebSocket), or "None" when that is all the server offers. Throws `VncHandshakeError`
 * when the server refuses; the server's ClientInit/ServerInit exchange follows.
 */
export async function authenticateToVncServer(
  input: ByteReader,
  send: (bytes: Uint8Array) => void,
  password: string,
): Promise<void> {
  const minor = minorOf(await input.read(12));
  if (minor < 7) throw new VncHandshakeError(`it speaks RFB 3.${minor}, older than 3.7`);
  const chosenMinor = Math.min(minor, 8);
  send(Buffer.from(`RFB 003.00${chosenMinor}\n`, 'latin1'));
  const count = (await input.read(1))[0]!;
  if (count === 0) throw new VncHandshakeError(`it refused the connection: ${await failureReason(input)}`);
  const types = [...(await input.read(count))];
  if (types.includes(VNC_AUTH)) {
    send(Uint8Array.of(VNC_AUTH));
    send(vncAuthResponse(password, await input.read(16)));
  } else if (types.includes(NONE)) {
    send(Uint8Array.of(NONE));
    if (chosenMinor === 7) return;
  } else {
    throw new VncHandshakeError(`it offers no security type the relay speaks (${types.join(', ')})`);
  }
  const result = (await input.read(4)).readUInt32BE(0);
  if (result !== 0)
    throw new VncHandshakeError(
      `it refused the VNC password${chosenMinor === 8 ? `: ${await failureReason(input)}` : ''}`,
    );
}

/**
 * Greets a VNC viewer (the browser's noVNC) as a server offering security type "None", up to
 * the end of the security handshake; the viewer's ClientInit follows. The relay has already
 * authenticated to the real server, so the viewer never needs, or sees, a VNC password.
 */
export async function greetVncViewerWithoutAuth(input: ByteReader, send: (bytes: Uint8Array) => void): Promise<void> {
  send(Buffer.from(VERSION_3_8, 'latin1'));
  const minor = minorOf(await input.read(12));
  if (minor === 3) {
    send(Uint8Array.of(0, 0, 0, NONE));
    return;
  }
  send(Uint8Array.of(1, NONE));
  const choice = (await input.read(1))[0];
  if (choice !== NONE) throw new VncHandshakeError(`the viewer chose security type ${choice}`);
  if (minor >= 8) send(Uint8Array.of(0, 0, 0, 0));
}

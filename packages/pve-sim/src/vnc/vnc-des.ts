import { createCipheriv } from 'node:crypto';

// The DES of QEMU's VNC Authentication (RFC 6143 §7.2.2). The simulator depends on nothing of the lab,
// so it has these lines of its own; Node's triple DES with one key three times is single DES
// (OpenSSL 3 keeps plain `des-ecb` in the legacy provider Node does not load).

/** DES (ECB) of `block`, a multiple of 8 bytes, under the 8-byte `key`. */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const des = createCipheriv('des-ede3-ecb', Buffer.from([...key, ...key, ...key]), null);
  return Buffer.concat([des.setAutoPadding(false).update(block), des.final()]);
}

/** What QEMU expects back for `challenge`: DES under the password's first 8 bytes, each byte's bits reversed. */
export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  const reversed = (byte: number) => parseInt(byte.toString(2).padStart(8, '0').split('').reverse().join(''), 2);
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1')
    .subarray(0, 8)
    .forEach((byte, i) => key.writeUInt8(reversed(byte), i));
  return desEncryptBlock(key, challenge.subarray(0, 16));
}

import { createCipheriv } from 'node:crypto';

// RFB's "VNC Authentication" (RFC 6143 §7.2.2) is single DES. OpenSSL 3 keeps `des-ecb` in its legacy
// provider, which Node does not load; triple DES (EDE) with three equal keys is single DES, and Node has it.

/** `data` (whole 8-byte blocks) DES-encrypted in ECB mode with the 8-byte `key`. */
export function desEncryptBlock(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = Buffer.from(key);
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([k, k, k]), null).setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * The answer to a VNC Authentication challenge: the 16-byte `challenge` DES-encrypted with the
 * password's first 8 bytes (zero-padded), each key byte's bits mirrored as VNC does.
 */
export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  const key = new Uint8Array(8);
  Buffer.from(password, 'latin1')
    .subarray(0, 8)
    .forEach((b, i) => {
      let mirrored = 0;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) mirrored |= 1 << (7 - bit);
      key[i] = mirrored;
    });
  return desEncryptBlock(key, challenge.subarray(0, 16));
}

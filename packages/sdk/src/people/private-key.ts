import { LabError } from '../errors/lab-error.js';

/**
 * The marks of a private key, looked for with every whitespace removed (a key pasted into chat
 * arrives re-wrapped, its lines joined or split anywhere): a PEM or OpenSSH armour line
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, `RSA`, `EC`, `DSA`, `ENCRYPTED`, PKCS#8, PGP), the start of
 * an OpenSSH key body (`openssh-key-v1` in base64) and a PuTTY key file header.
 */
const PRIVATE_KEY_MARKS = [/-{2,}BEGIN[A-Z0-9]*PRIVATEKEY/i, /b3BlbnNzaC1rZXktdjE/, /PuTTY-User-Key-File-\d/i];

/** Whether `text` holds (part of) a private key, however it was wrapped. */
export function looksLikePrivateKey(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  return PRIVATE_KEY_MARKS.some((mark) => mark.test(compact));
}

/**
 * Someone pasted a private key where a public one belongs. The key is neither stored, echoed nor
 * logged; the message says to paste the `.pub` file and to replace a key that was shared.
 */
export class PrivateKeyGivenError extends LabError {
  static override readonly code: string = 'LAB_SSH_PRIVATE_KEY';
  constructor() {
    super(
      PrivateKeyGivenError.code,
      'That is a private key; it was not stored or logged. Never share it: paste your public key instead, the one line of your .pub file (e.g. ~/.ssh/id_ed25519.pub), and make a new key pair if this one was posted where others can see it.',
    );
  }
}

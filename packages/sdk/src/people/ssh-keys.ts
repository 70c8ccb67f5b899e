import { createHash } from 'node:crypto';
import { LabError } from '../errors/lab-error.js';
import type { SshKeyRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { looksLikePrivateKey, PrivateKeyGivenError } from './private-key.js';

/** Key types accepted: the ones OpenSSH offers today (DSA is gone from OpenSSH 9.8). */
export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** Text that is not one OpenSSH public key; says what is wrong. */
export class InvalidSshKeyError extends LabError {
  static override readonly code: string = 'LAB_SSH_KEY_INVALID';
  constructor(reason: string) {
    super(
      InvalidSshKeyError.code,
      `That is not an OpenSSH public key: ${reason}. Paste one line of your .pub file, e.g. "ssh-ed25519 AAAAC3Nz… you@laptop".`,
      { reason },
    );
  }
}

/** A validated OpenSSH public key. */
export interface SshPublicKey {
  type: string;
  /** The base64 key blob. */
  data: string;
  comment: string | null;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** `<type> <data>[ <comment>]`, one line. */
  line: string;
}

/**
 * Parses one OpenSSH public key line (`type base64 [comment]`): the type must be a known one, the
 * base64 must decode, and the blob must start with the same type name (so a truncated key or a key
 * with a wrong prefix is refused). A private key is refused as `PrivateKeyGivenError`, never echoed.
 */
export function parseSshPublicKey(text: string): SshPublicKey {
  if (looksLikePrivateKey(text)) throw new PrivateKeyGivenError();
  const trimmed = text.trim();
  if (/^-----BEGIN/.test(trimmed))
    throw new InvalidSshKeyError('this is a PEM file; send the one line of your OpenSSH .pub file instead');
  if (/[\r\n]/.test(trimmed)) throw new InvalidSshKeyError('send one key per command (one line)');
  const [type, data, ...rest] = trimmed.split(/\s+/);
  if (!type || !data) throw new InvalidSshKeyError('expected "<type> <base64> [comment]"');
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type))
    throw new InvalidSshKeyError(`unknown key type '${type.slice(0, 40)}' (known: ${SSH_KEY_TYPES.join(', ')})`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0)
    throw new InvalidSshKeyError('the key data is not base64');
  const blob = Buffer.from(data, 'base64');
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (
    length !== type.length ||
    blob.subarray(4, 4 + length).toString('latin1') !== type ||
    blob.length < 4 + length + 16
  )
    throw new InvalidSshKeyError(`the key data does not hold a ${type} key (truncated or a different type)`);
  const comment = rest.join(' ') || null;
  // Any letters (UTF-8, "Jürgen"), but no control or invisible formatting characters (bidi overrides).
  if (comment && /\p{C}/u.test(comment))
    throw new InvalidSshKeyError('the comment must be printable text, without control or invisible characters');
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { type, data, comment, fingerprint, line: comment ? `${type} ${data} ${comment}` : `${type} ${data}` };
}

/** A key as the store keeps it. */
export function sshKeyRecord(personId: number, key: SshPublicKey, addedAt: number): SshKeyRecord {
  return { personId, key: key.line, type: key.type, fingerprint: key.fingerprint, comment: key.comment, addedAt };
}

/** Validates `text` and adds it to the person's keys; `added: false` when they have it already. */
export async function addSshKey(
  store: Store,
  personId: number,
  text: string,
  at: number,
): Promise<{ key: SshPublicKey; added: boolean }> {
  const key = parseSshPublicKey(text);
  return { key, added: await store.sshKeys.add(sshKeyRecord(personId, key, at)) };
}

/**
 * Removes one of the person's keys, named by its number in the list (1-based), its fingerprint
 * (`SHA256:…`, a unique prefix is enough) or its comment. Returns the removed key, or undefined.
 */
export async function removeSshKey(store: Store, personId: number, which: string): Promise<SshKeyRecord | undefined> {
  const keys = await store.sshKeys.list(personId);
  const byNumber = /^\d+$/.test(which) ? keys[Number(which) - 1] : undefined;
  const matches = byNumber
    ? [byNumber]
    : keys.filter((k) => (which.startsWith('SHA256:') && k.fingerprint.startsWith(which)) || k.comment === which);
  if (matches.length !== 1) return undefined;
  await store.sshKeys.remove(personId, matches[0]!.fingerprint);
  return matches[0];
}

import { createHash } from 'node:crypto';
import { generateInviteCode, normalizeInviteCode } from './invite-codes.js';

/** A fresh random link code, shown as `ABCDE-FGHJK` (50 bits, Crockford's base32 like invite codes). */
export function generateLinkCode(): string {
  return generateInviteCode();
}

/** The canonical form of a typed link code, or undefined when it cannot be one. */
export function normalizeLinkCode(typed: string): string | undefined {
  return normalizeInviteCode(typed);
}

/** The hash the store keeps for a code: hex SHA-256 of its canonical form, apart from invite hashes. */
export function hashLinkCode(code: string): string {
  return createHash('sha256')
    .update(`link-code:${normalizeLinkCode(code) ?? code}`)
    .digest('hex');
}

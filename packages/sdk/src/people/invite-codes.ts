import { createHash, randomBytes } from 'node:crypto';

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed by hand survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Characters of an invite code: 10 × 5 bits = 50 bits of randomness. */
export const INVITE_CODE_LENGTH = 10;

/** A fresh random invite code, shown as `ABCDE-FGHJK`. */
export function generateInviteCode(): string {
  const bytes = randomBytes(INVITE_CODE_LENGTH);
  // 32 divides 256, so taking the low five bits keeps every character equally likely.
  const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/**
 * The canonical form of a typed code: upper case, without dashes or spaces, with the letters people
 * confuse mapped the Crockford way (I and L → 1, O → 0). Undefined when it cannot be a code.
 */
export function normalizeInviteCode(typed: string): string | undefined {
  const code = typed.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return code.length === INVITE_CODE_LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}

/** The hash the store keeps for a code (hex SHA-256 of its canonical form). */
export function hashInviteCode(code: string): string {
  return createHash('sha256')
    .update(normalizeInviteCode(code) ?? code)
    .digest('hex');
}

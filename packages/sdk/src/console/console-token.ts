import { createHash, randomBytes } from 'node:crypto';

/** Bytes of randomness in a console link's token (256 bits). */
export const CONSOLE_TOKEN_BYTES = 32;

/** A fresh random token for a console link or session, URL-safe (base64url, 43 characters). */
export function generateConsoleToken(): string {
  return randomBytes(CONSOLE_TOKEN_BYTES).toString('base64url');
}

/** Whether `value` has the shape of a token (so junk never reaches the store). */
export function isConsoleToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** The hash the store keeps for a token (hex SHA-256). */
export function hashConsoleToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

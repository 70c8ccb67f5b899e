const SECRET_KEY = /secret|password|passwd|token|ticket|authorization|cookie|csrf|signing|private.?key/i;

/** The text that replaces a secret. */
export const REDACTED = '[REDACTED]';

/**
 * A deep copy of `value` in which every field whose name looks secret (token, password, secret,
 * ticket, cookie, authorization, csrf…) is replaced by `[REDACTED]`, and every occurrence of a
 * listed secret string inside any text is scrubbed too. Errors become `{name, message, code}`.
 */
export function redact(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') return scrub(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: scrub(value.message, secrets), ...(code === undefined ? {} : { code }) };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && field !== undefined && field !== null && typeof field !== 'boolean'
        ? REDACTED
        : redact(field, secrets, depth + 1);
  }
  return out;
}

/** `text` with every listed secret (of four or more characters) replaced by `[REDACTED]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * The Content Security Policy of every console response: only this origin's scripts, styles and
 * WebSocket (`connect-src 'self'`), no inline script, no third-party origin, no framing. `data:`
 * and `blob:` images are for noVNC's cursor.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every console response (page, assets, errors). */
export function consoleHeaders(contentType: string, cache: 'no-store' | 'static'): Record<string, string> {
  return {
    'content-type': contentType,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // The link's token is in the page's URL: never send it on as a referrer.
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': cache === 'static' ? 'public, max-age=3600' : 'no-store',
  };
}

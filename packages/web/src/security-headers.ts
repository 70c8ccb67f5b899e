import type { FastifyReply } from 'fastify';

/**
 * Headers of every answer: a strict Content Security Policy (only this origin's stylesheet and
 * scripts, no inline script or style, no framing), no MIME sniffing, a referrer only to this origin (a
 * callback URL's code never leaks to another site; `no-referrer` would make browsers send
 * `Origin: null` on the portal's own form posts, which the Origin check must refuse), nothing cached, and HSTS when the portal is served over HTTPS.
 */
export function securityHeaders(reply: FastifyReply, publicUrl: URL, consoleOrigin?: string): void {
  // The console button's form is answered with a redirect to the console, which form-action must allow.
  const formAction =
    consoleOrigin && consoleOrigin !== publicUrl.origin ? `form-action 'self' ${consoleOrigin}` : "form-action 'self'";
  reply.header(
    'content-security-policy',
    [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      "connect-src 'self'",
      formAction,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
  );
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cache-control', 'no-store');
  if (publicUrl.protocol === 'https:') reply.header('strict-transport-security', 'max-age=31536000');
}

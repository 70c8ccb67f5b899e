import type { FastifyRequest } from 'fastify';
import { webActorId } from './web-audit.js';
import { WebRequestRefusedError } from './web-errors.js';
import { csrfTokenMatches } from './web-sessions.js';
import { SESSION_COOKIE, type WebContext } from './web-portal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Form fields this route takes more than once (the grid's ticked `students`); any other repeated field is refused. */
    repeatable?: readonly string[];
  }
}

const auditDenied = async (
  context: WebContext,
  request: FastifyRequest,
  reason: WebRequestRefusedError['reason'],
  details: Record<string, unknown> = {},
): Promise<WebRequestRefusedError> => {
  const session = request.webSession;
  await context.audit({
    action: 'web.request',
    actor: session ? session.person.username : 'web:anonymous',
    target: `POST ${request.url.split('?')[0]!}`,
    outcome: 'denied',
    details: {
      reason,
      ...(session ? { platformUserId: webActorId(session.issuer, session.subject) } : {}),
      ...details,
    },
  });
  return new WebRequestRefusedError(reason);
};

/**
 * Why a POST's sender is refused, audited: an `Origin` other than the portal's, or no working
 * session. Needs no body, so it runs before any is read.
 */
export async function refusedSender(
  context: WebContext,
  request: FastifyRequest,
): Promise<WebRequestRefusedError | undefined> {
  const origin = request.headers.origin;
  if (origin !== context.origin) return auditDenied(context, request, 'origin', { origin: origin ?? null });
  if (!request.webSession)
    return request.cookies[SESSION_COOKIE]
      ? auditDenied(context, request, 'signed-out')
      : new WebRequestRefusedError('signed-out');
  return undefined;
}

/** Why a POST's CSRF token (`sent`) is refused, audited; undefined when it is the session's. */
export async function refusedToken(
  context: WebContext,
  request: FastifyRequest,
  sent: unknown,
): Promise<WebRequestRefusedError | undefined> {
  const session = request.webSession;
  if (session && csrfTokenMatches(session.sessionId, sent)) return undefined;
  return auditDenied(context, request, 'csrf');
}

/** The CSRF token a request carries outside its body: the `X-CSRF-Token` header or the `_csrf` query parameter. */
export function tokenOutsideBody(request: FastifyRequest): string | undefined {
  const header = request.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  const query = (request.query ?? {}) as Record<string, unknown>;
  return typeof query._csrf === 'string' ? query._csrf : undefined;
}

/**
 * The first form field sent more than once (in the body or the query) that the route does not take
 * as a list: such a request is refused rather than one of its values silently used.
 */
export function repeatedField(request: FastifyRequest): string | undefined {
  const allowed = request.routeOptions.config.repeatable ?? [];
  for (const fields of [request.body, request.query]) {
    if (typeof fields !== 'object' || fields === null) continue;
    const repeated = Object.entries(fields as Record<string, unknown>).find(
      ([name, value]) => Array.isArray(value) && !allowed.includes(name),
    );
    if (repeated) return repeated[0];
  }
  return undefined;
}

/** The sentence of the 400 page for a repeated field. */
export function repeatedFieldSentence(field: string): string {
  return `The form sent the field “${field.slice(0, 64)}” more than once; it takes one value. Reload the page and send the form again.`;
}

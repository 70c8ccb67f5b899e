import { createServer, type RequestListener } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import {
  isLabError,
  systemClock,
  type Clock,
  type DirectoryService,
  type Logger,
  type PersonRecord,
  type Store,
} from '@lab/proxmox-sdk';
import type { CommandRouter, Reply } from '@lab/commands';
import type { WebConfig } from './web-config.js';
import { WebSessions } from './web-sessions.js';
import { OidcSignIn, type PendingSignIn } from './oidc-sign-in.js';
import { webAuditor, type WebAuditEvent } from './web-audit.js';
import { securityHeaders } from './security-headers.js';
import { replyForTheWeb } from './web-reply.js';
import { registerSignInRoutes } from './sign-in-routes.js';
import { registerStudentRoutes } from './student-routes.js';
import { registerSnapshotRoutes } from './snapshot-routes.js';
import { registerTeacherRoutes } from './teacher-routes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerLinkChatRoutes } from './link-chat-routes.js';
import { PROGRESS_JS } from './assets/progress-js.js';
import { FAVICON_SVG } from './assets/favicon-svg.js';
import { PORTAL_CSS } from './assets/portal-css.js';
import { messagePage, type PageViewer } from './pages/layout.js';
import type { WebRequestRefusedError } from './web-errors.js';
import { refusedSender, refusedToken, repeatedField, repeatedFieldSentence, tokenOutsideBody } from './post-gate.js';

/** The cookie of a signed-in browser. `__Host-` keeps it to this origin, over HTTPS, for every path. */
export const SESSION_COOKIE = '__Host-lab_session';
/** The cookie binding a started sign-in to the browser that started it (its `state`). */
export const LOGIN_COOKIE = '__Host-lab_login';

/** A signed-in request's session: the person, the OpenID identity and the CSRF token. */
export interface RequestSession {
  sessionId: string;
  person: PersonRecord;
  issuer: string;
  subject: string;
  csrfToken: string;
  viewer: PageViewer;
}

/** What routes of the portal share: the router, the store, sessions, sign-in and helpers. */
export interface WebContext {
  router: CommandRouter;
  store: Store;
  clock: Clock;
  logger: Logger;
  config: WebConfig;
  sessions: WebSessions;
  signIn: OidcSignIn;
  /** `scheme://host[:port]` of `web.publicUrl`: the only `Origin` a state-changing request may have. */
  origin: string;
  audit(event: WebAuditEvent): Promise<void>;
  /** The school directory, whose group mapping every sign-in applies to the groups claim. */
  directory?: Pick<DirectoryService, 'enrolFromSignIn'>;
  /** Runs a command as the signed-in person, through the command router (platform `web`). */
  invoke(
    session: RequestSession,
    command: string,
    subcommand: string,
    options?: Record<string, unknown>,
  ): Promise<Reply>;
  /** Presses Confirm or Cancel of a pending confirmation as the signed-in person. */
  confirm(session: RequestSession, id: string, cancel: boolean): Promise<Reply>;
}

/** Routes more pages add (the teacher and admin pages) on the same app, sessions and router. */
export type WebRoutes = (app: FastifyInstance, context: WebContext) => void;

/** Options of {@link createWebPortal}. */
export interface WebPortalOptions {
  router: CommandRouter;
  store: Store;
  logger: Logger;
  config: WebConfig;
  /** The OpenID client secret (read from `web.oidc.clientSecretFile`). */
  clientSecret: string;
  clock?: Clock;
  routes?: readonly WebRoutes[];
  /** Where `/myvm console` links point (`console.publicUrl`), so the console button may go there. */
  consoleUrl?: string;
  /** The school directory (`directory.groups`): applied to the groups claim at every sign-in. */
  directory?: Pick<DirectoryService, 'enrolFromSignIn'>;
}

/** A built portal: the Fastify app (for `inject` in tests) and its Node request listener. */
export interface WebPortal {
  app: FastifyInstance;
  requestListener: RequestListener;
  context: WebContext;
  /** Settles when no request is being answered. */
  idle(): Promise<void>;
  /** How many requests it is answering now. */
  running(): number;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    webSession: RequestSession | null;
  }
}

/**
 * The web portal: sign-in through the school's OpenID provider, sessions in the store, the student
 * pages; every action goes through the command router as platform `web`. It makes no Proxmox call.
 */
export async function createWebPortal(options: WebPortalOptions): Promise<WebPortal> {
  const { router, store, logger, config } = options;
  const clock = options.clock ?? systemClock;
  const publicUrl = new URL(config.publicUrl);
  const consoleOrigin = options.consoleUrl ? new URL(options.consoleUrl).origin : undefined;
  const sessions = new WebSessions({
    store,
    clock,
    idleMs: config.session.idleMinutes * 60_000,
    absoluteMs: config.session.absoluteHours * 3_600_000,
  });
  const signIn = new OidcSignIn({
    issuer: config.oidc.issuer,
    clientId: config.oidc.clientId,
    clientSecret: options.clientSecret,
    redirectUri: new URL('/auth/callback', publicUrl).href,
  });
  const audit = webAuditor(store, clock);
  const userIdOf = (s: RequestSession) => `${s.issuer}#${s.subject}`;
  const context: WebContext = {
    router,
    store,
    clock,
    logger,
    config,
    sessions,
    signIn,
    origin: publicUrl.origin,
    audit,
    ...(options.directory ? { directory: options.directory } : {}),
    invoke: async (session, command, subcommand, opts) =>
      replyForTheWeb(
        router,
        command,
        subcommand,
        await router.invoke({
          platform: 'web',
          userId: userIdOf(session),
          command,
          subcommand,
          ...(opts ? { options: opts } : {}),
        }),
      ),
    async confirm(session, id, cancel) {
      const click = { id, platform: 'web' as const, userId: userIdOf(session) };
      if (cancel) return router.cancelConfirmation(click);
      const prepared = await router.confirm(click);
      return prepared.reply ?? prepared.run();
    },
  };

  let listener: RequestListener | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    serverFactory: (handler) => {
      listener = handler;
      return createServer(handler);
    },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // File uploads (the roster CSV) without JavaScript. Origin and session are checked before the body
  // is read, the CSRF token (a header, the query or the form's first field) before any further part;
  // a file over the limit is refused before any command runs.
  await app.register(fastifyMultipart, {
    limits: { fileSize: UPLOAD_LIMIT_BYTES, files: 1, fields: 50, fieldSize: UPLOAD_LIMIT_BYTES, parts: 60 },
  });
  app.decorateRequest('webSession', null);
  let running = 0;
  let settled: Array<() => void> = [];
  app.addHook('onRequest', (_request, _reply, done) => {
    running++;
    done();
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    if (--running === 0) {
      settled.forEach((resolve) => resolve());
      settled = [];
    }
    done();
  });
  /** Answers a refused POST; one whose body stays unread (an upload) closes its connection after the answer. */
  const refuse = (request: FastifyRequest, reply: FastifyReply, refused: WebRequestRefusedError, unread = false) =>
    (unread ? reply.header('connection', 'close') : reply)
      .code(refused.reason === 'signed-out' ? 401 : 403)
      .type('text/html; charset=utf-8')
      .send(
        messagePage('Not done', refused.message, {
          error: true,
          link: { href: '/', label: 'Back to the start page' },
          ...(request.webSession ? { viewer: request.webSession.viewer } : {}),
        }),
      );
  /** POSTs whose sender (and maybe CSRF token) were checked before their body was read (uploads). */
  const senderChecked = new WeakSet<FastifyRequest>();
  const gated = new WeakSet<FastifyRequest>();
  const checkSender = async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (senderChecked.has(request)) return true;
    const refused = await refusedSender(context, request);
    if (refused) await refuse(request, reply, refused, true);
    else senderChecked.add(request);
    return !refused;
  };
  app.addHook('onRequest', async (request, reply) => {
    securityHeaders(reply, publicUrl, consoleOrigin);
    request.webSession = await sessionOf(context, request);
    if (request.method !== 'POST' || !isMultipartRequest(request)) return;
    if (!(await checkSender(request, reply))) return reply;
    const outside = tokenOutsideBody(request);
    if (outside === undefined) return;
    const refused = await refusedToken(context, request, outside);
    if (refused) return refuse(request, reply, refused, true);
    gated.add(request);
  });
  app.addHook('preValidation', async (request, reply) => {
    if (request.method !== 'POST' || !request.isMultipart()) return;
    if (!(await checkSender(request, reply))) return reply;
    const body: Record<string, unknown> = {};
    for await (const part of request.parts()) {
      if (!gated.has(request)) {
        const first = part.type === 'field' && part.fieldname === '_csrf' ? part.value : undefined;
        const refused = await refusedToken(context, request, first);
        if (refused) return refuse(request, reply, refused, true);
        gated.add(request);
      }
      addField(body, part.fieldname, part.type === 'file' ? await part.toBuffer() : part.value);
    }
    request.body = body;
  });
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'POST' && !gated.has(request)) {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const refused =
        (await refusedSender(context, request)) ??
        (await refusedToken(context, request, body._csrf ?? request.headers['x-csrf-token']));
      if (refused) return refuse(request, reply, refused);
    }
    const repeated = repeatedField(request);
    if (repeated === undefined) return;
    return reply
      .code(400)
      .type('text/html; charset=utf-8')
      .send(
        messagePage('Not done', repeatedFieldSentence(repeated), {
          error: true,
          link: { href: '/', label: 'Back to the start page' },
          ...(request.webSession ? { viewer: request.webSession.viewer } : {}),
        }),
      );
  });
  app.setErrorHandler(async (error, request, reply) => {
    const known = isLabError(error);
    const status = (error as { statusCode?: number }).statusCode;
    if (!known && !(status && status < 500))
      logger.error('web request failed', { path: request.url.split('?')[0], error });
    return reply
      .code(known ? 400 : status && status < 500 ? status : 500)
      .type('text/html; charset=utf-8')
      .send(
        messagePage(
          'Something went wrong',
          known
            ? error.message
            : status === 413
              ? 'The file is larger than 1 MiB; upload a smaller CSV file.'
              : status && status < 500
                ? 'The request was not understood; go back and try again.'
                : 'Something went wrong on our side; the error was logged.',
          { error: true, link: { href: '/', label: 'Back to the start page' } },
        ),
      );
  });
  app.setNotFoundHandler(async (_request, reply) =>
    reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(
        messagePage('Not found', 'There is no such page.', { error: true, link: { href: '/', label: 'Start page' } }),
      ),
  );
  app.get('/assets/portal.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(PORTAL_CSS),
  );
  for (const path of ['/assets/favicon.svg', '/favicon.ico'])
    app.get(path, async (_request, reply) =>
      reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON_SVG),
    );
  app.get('/assets/progress.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(PROGRESS_JS),
  );
  registerSignInRoutes(app, context);
  registerStudentRoutes(app, context);
  registerSnapshotRoutes(app, context);
  registerLinkChatRoutes(app, context);
  registerTeacherRoutes(app, context);
  registerAdminRoutes(app, context);
  for (const routes of options.routes ?? []) routes(app, context);
  await app.ready();
  return {
    app,
    requestListener: (req, res) => listener!(req, res),
    context,
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => settled.push(resolve))),
    running: () => running,
    close: () => app.close(),
  };
}

/** The request's working session from its cookie, or null (an ended one's cookie is cleared). */
async function sessionOf(context: WebContext, request: FastifyRequest): Promise<RequestSession | null> {
  const id = request.cookies[SESSION_COOKIE];
  if (!id) return null;
  const found = await context.sessions.read(id);
  if ('ended' in found) return null;
  const person = await context.store.classes.getPerson(found.record.personId);
  if (!person) return null;
  return {
    sessionId: id,
    person,
    issuer: found.record.issuer,
    subject: found.record.subject,
    csrfToken: found.csrfToken,
    viewer: {
      username: person.username,
      displayName: person.displayName,
      role: person.role,
      csrfToken: found.csrfToken,
    },
  };
}

/** Whether a request sends a multipart body, from its header alone (before the body is parsed). */
function isMultipartRequest(request: FastifyRequest): boolean {
  return /^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '');
}

/** Adds a form field to a body, a repeated one as the list of its values. */
function addField(body: Record<string, unknown>, name: string, value: unknown): void {
  const had = body[name];
  body[name] = had === undefined ? value : Array.isArray(had) ? [...(had as unknown[]), value] : [had, value];
}

/** The largest file a form may upload (a roster of thousands of rows fits). */
export const UPLOAD_LIMIT_BYTES = 1024 * 1024;

/** Sends a page of HTML. */
export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

export type { PendingSignIn };

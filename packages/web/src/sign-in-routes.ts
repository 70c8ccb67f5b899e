import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityTakenError } from '@lab/proxmox-sdk/errors';
import { isLabError } from '@lab/proxmox-sdk';
import { html } from './html.js';
import { messagePage, page } from './pages/layout.js';
import type { PendingSignIn } from './oidc-sign-in.js';
import { labPersonOf } from './person-mapping.js';
import { applySignInGroups } from './sign-in-groups.js';
import { webActorId } from './web-audit.js';
import { WebSignInRefusedError, WebUnknownPersonError } from './web-errors.js';
import { LOGIN_COOKIE, SESSION_COOKIE, sendPage, type WebContext } from './web-portal.js';

/** A started sign-in lasts this long. */
const SIGN_IN_TTL_MS = 10 * 60_000;
const HINT = /^[\p{L}\p{N}._@+-]{1,254}$/u;

const cookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'lax' } as const;

/** `/` for a signed-out browser, `/login`, `/auth/callback` and `/logout`. */
export function registerSignInRoutes(app: FastifyInstance, context: WebContext): void {
  app.get('/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const hint = typeof query.login_hint === 'string' && HINT.test(query.login_hint) ? query.login_hint : undefined;
    const { url, pending } = await context.signIn.begin(hint);
    const now = context.clock.now();
    await context.store.nonces.put(signInKey(pending.state), pending, now + SIGN_IN_TTL_MS, now);
    return reply
      .setCookie(LOGIN_COOKIE, pending.state, { ...cookieOptions, maxAge: SIGN_IN_TTL_MS / 1000 })
      .redirect(url.href, 303);
  });

  app.get('/auth/callback', async (request, reply) => {
    try {
      return await finishSignIn(context, request, reply);
    } catch (error) {
      if (!(error instanceof WebSignInRefusedError) && !(error instanceof WebUnknownPersonError)) throw error;
      const unknown = error instanceof WebUnknownPersonError;
      await context.audit({
        action: 'web.sign-in',
        actor: typeof error.data.actor === 'string' ? error.data.actor : 'web:anonymous',
        target: context.config.oidc.issuer,
        outcome: 'denied',
        details: { code: error.code, ...withoutSecrets(error.data) },
      });
      context.logger.info('web sign-in refused', { code: error.code, ...withoutSecrets(error.data) });
      reply.clearCookie(LOGIN_COOKIE, cookieOptions);
      return sendPage(
        reply,
        messagePage(unknown ? 'Ask your teacher' : 'Sign-in did not complete', error.message, {
          error: true,
          link: { href: '/', label: 'Back to the start page' },
        }),
        unknown ? 403 : 400,
      );
    }
  });

  app.post('/logout', async (request, reply) => {
    const session = request.webSession!;
    await context.sessions.close(session.sessionId);
    await context.audit({
      action: 'web.sign-out',
      actor: session.person.username,
      target: context.config.oidc.issuer,
      outcome: 'ok',
      details: { platformUserId: webActorId(session.issuer, session.subject) },
    });
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return sendPage(
      reply,
      messagePage('Signed out', 'You are signed out of Proxmox Lab.', {
        link: { href: '/login', label: 'Sign in again' },
      }),
    );
  });
}

/** The start page of a browser that is not signed in. */
export function signedOutPage(): string {
  return page(
    'Welcome',
    html`<p>Sign in with your school account to see and use your lab VMs.</p>
      <p><a class="button" href="/login">Sign in</a></p>`,
  );
}

async function finishSignIn(context: WebContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { store, clock, config } = context;
  const query = request.query as Record<string, unknown>;
  const state = typeof query.state === 'string' ? query.state : '';
  const expected = request.cookies[LOGIN_COOKIE];
  if (!expected) throw new WebSignInRefusedError('no-login-started');
  if (state !== expected) throw new WebSignInRefusedError('wrong-state');
  const pending = (await store.nonces.take(signInKey(state), clock.now())) as PendingSignIn | undefined;
  if (!pending) throw new WebSignInRefusedError('login-expired-or-used');
  const callbackUrl = new URL(request.url, config.publicUrl);
  const identity = await context.signIn.finish(callbackUrl, pending);
  const actor = webActorId(identity.issuer, identity.subject);
  if (config.oidc.mapBy === 'username') await applySignInGroups(context, config.oidc, identity.claims, actor);
  let person;
  try {
    person = await labPersonOf(store, identity.claims, config.oidc);
  } catch (error) {
    if (isLabError(error)) Object.assign(error.data, { actor, platformUserId: actor });
    throw error;
  }
  if (config.oidc.mapBy === 'email') await applySignInGroups(context, config.oidc, identity.claims, actor, person);
  const externalId = `${identity.issuer}#${identity.subject}`;
  try {
    // The configured claim proved who this is, so a web account the person had before (another
    // provider, or a subject the provider re-issued) gives way to this one: one per person.
    const replaced = await store.transaction(async (tx) => {
      const previous = (await tx.classes.identitiesOf(person.id)).find(
        (i) => i.platform === 'web' && i.externalId !== externalId,
      );
      if (previous) await tx.classes.unlinkIdentity('web', previous.externalId);
      if (!(await tx.classes.identitiesOf(person.id)).some((i) => i.platform === 'web'))
        await tx.classes.linkIdentity({ personId: person.id, platform: 'web', externalId });
      return previous?.externalId;
    });
    if (replaced)
      await context.audit({
        action: 'web.account-replaced',
        actor: person.username,
        target: person.username,
        outcome: 'ok',
        details: { platformUserId: actor, previous: `web:${replaced}` },
      });
  } catch (error) {
    if (error instanceof IdentityTakenError)
      throw new WebSignInRefusedError(
        'identity-taken',
        { actor, platformUserId: actor, person: person.username },
        { cause: error },
      );
    throw error;
  }
  const sessionId = await context.sessions.open(person.id, identity.issuer, identity.subject);
  await context.audit({
    action: 'web.sign-in',
    actor: person.username,
    target: identity.issuer,
    outcome: 'ok',
    details: { platformUserId: actor, mapBy: config.oidc.mapBy },
  });
  reply.clearCookie(LOGIN_COOKIE, cookieOptions);
  reply.setCookie(SESSION_COOKIE, sessionId, { ...cookieOptions, maxAge: config.session.absoluteHours * 3600 });
  return reply.redirect('/', 303);
}

function signInKey(state: string): string {
  return `web-sign-in:${state}`;
}

/** Error facts fit for the log and the audit (never a code, a token or a secret). */
function withoutSecrets(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { reason, detail, check, providerError, claim, mapBy, value, actor, platformUserId, person } = data;
  return Object.fromEntries(
    Object.entries({ reason, detail, check, providerError, claim, mapBy, value, actor, platformUserId, person }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

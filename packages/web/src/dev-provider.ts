/**
 * A development OpenID provider for trying the portal without a school's provider: it signs in the
 * person named by `login_hint` (or typed on its page) WITHOUT A PASSWORD. It listens only on
 * loopback, and `lab serve` never starts it; `lab sim --oidc` and the demo do. It can give people a
 * `groups` claim from a fixed list, to try `directory.groups` without a school's provider.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Provider, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';
import { html } from './html.js';
import { isLoopbackUrl } from './web-config.js';

/** A running development provider. */
export interface DevOidcProvider {
  /** The issuer to put in `web.oidc.issuer`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/** Options of {@link startDevOidcProvider}. */
export interface DevOidcProviderOptions {
  /** @defaultValue 0 (any free port) */
  port?: number;
  /** Only a loopback address. @defaultValue 127.0.0.1 */
  host?: string;
  /** @defaultValue lab-portal-dev */
  clientId?: string;
  /** @defaultValue a random one */
  clientSecret?: string;
  /** Email addresses the provider gives people: `<username>@<emailDomain>`, marked verified. @defaultValue lab.example */
  emailDomain?: string;
  /**
   * The `groups` claim to put in each person's ID token, by username (`lab sim --oidc-groups FILE`);
   * a person not listed gets no groups claim. @defaultValue nobody has groups
   */
  groups?: Readonly<Record<string, readonly string[]>>;
}

const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;

/**
 * The groups per username of a development provider, from the text of a JSON file such as
 * `{"st01": ["cs101-students"]}`; throws a sentence saying what to fix when it has another shape.
 */
export function parseDevGroups(text: string): Record<string, string[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the groups file is not JSON: write an object of usernames to lists of group names');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('the groups file must be a JSON object of usernames to lists of group names');
  const groups: Record<string, string[]> = {};
  for (const [username, list] of Object.entries(value)) {
    if (!USERNAME.test(username)) throw new Error(`the groups file names "${username}", which is not a lab username`);
    if (!Array.isArray(list) || !list.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 512))
      throw new Error(`the groups of ${username} in the groups file must be a list of group names`);
    groups[username] = list as string[];
  }
  return groups;
}
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Starts the development provider on loopback; it trusts any redirect URI on loopback. */
export async function startDevOidcProvider(options: DevOidcProviderOptions = {}): Promise<DevOidcProvider> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host))
    throw new Error(`the development OpenID provider listens only on loopback, not on ${host}`);
  const clientId = options.clientId ?? 'lab-portal-dev';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const emailDomain = options.emailDomain ?? 'lab.example';
  const groups = new Map(Object.entries(options.groups ?? {}).map(([name, list]) => [name, [...list]]));
  // The provider needs its issuer (the port) before it can answer, so the listener is set once it exists.
  const route: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server: Server = createServer((req, res) => route.handle!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host === '::1' ? '[::1]' : host}:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'dev-1', alg: 'RS256', use: 'sig' };
  const policy = interactionPolicy.base();
  // A hint naming someone else than the provider's session signs that person in instead.
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('login_hint_differs', 'another person is named', (ctx: KoaContextWithOIDC) => {
      const hint = ctx.oidc.params?.login_hint;
      const current = ctx.oidc.session?.accountId;
      return typeof hint === 'string' && current !== undefined && current !== hint
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: ['http://127.0.0.1/auth/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    adapter: memoryAdapter(),
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The portal asks for `openid profile email`; the groups claim rides with the profile.
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount(_ctx, id) {
      if (!USERNAME.test(id)) return Promise.resolve(undefined);
      return Promise.resolve({
        accountId: id,
        claims: () => ({
          sub: id,
          preferred_username: id,
          name: id,
          email: `${id}@${emailDomain}`,
          email_verified: true,
          ...(groups.has(id) ? { groups: groups.get(id) } : {}),
        }),
      });
    },
    // First-party development client: no consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  });
  const prototype = provider.Client.prototype as { redirectUriAllowed: (this: unknown, uri: string) => boolean };
  const allowed = prototype.redirectUriAllowed;
  prototype.redirectUriAllowed = function (this: unknown, uri: string) {
    return isLoopbackUrl(uri) || allowed.call(this, uri);
  };
  const callback = provider.callback();
  route.handle = (req, res) => {
    const remote = req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) {
      res.writeHead(403).end();
      return;
    }
    const match = /^\/interaction\/([\w-]+)(\/login)?(\?.*)?$/.exec(req.url ?? '');
    if (match) {
      interaction(provider, req, res, Boolean(match[2])).catch((error: unknown) => {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`sign-in failed: ${(error as Error).message}`);
      });
      return;
    }
    void callback(req, res);
  };
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The login step: the `login_hint`, else the username typed on a small form (no password). */
async function interaction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  posted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  let username = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
  if (posted) username = new URLSearchParams(await body(req)).get('username') ?? undefined;
  if (details.prompt.name === 'login' && username && USERNAME.test(username)) {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: username } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (details.prompt.name !== 'login') {
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>Development sign-in</title>
        </head>
        <body>
          <main>
            <h1>Development sign-in (no password)</h1>
            <form method="post" action="/interaction/${details.uid}/login">
              <label for="username">Lab username</label>
              <input id="username" name="username" autocomplete="username" required />
              <button type="submit">Sign in</button>
            </form>
          </main>
        </body>
      </html>`.value,
  );
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > 4096) req.destroy();
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** The provider's state in this process's memory (codes, sessions, grants): a development provider keeps nothing. */
function memoryAdapter() {
  const entries = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    return entry && entry.expiresAt >= Date.now() ? entry.payload : undefined;
  };
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    #key(id: string): string {
      return `${this.model}:${id}`;
    }
    upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> {
      entries.set(this.#key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
      return Promise.resolve();
    }
    find(id: string): Promise<Record<string, unknown> | undefined> {
      return Promise.resolve(live(this.#key(id)));
    }
    findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
      return Promise.resolve(this.#findBy((p) => p.userCode === userCode));
    }
    findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      return Promise.resolve(this.#findBy((p) => p.uid === uid));
    }
    consume(id: string): Promise<void> {
      const payload = live(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }
    destroy(id: string): Promise<void> {
      entries.delete(this.#key(id));
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
      return Promise.resolve();
    }
    #findBy(match: (payload: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
      for (const key of entries.keys()) {
        const payload = key.startsWith(`${this.model}:`) ? live(key) : undefined;
        if (payload && match(payload)) return payload;
      }
      return undefined;
    }
  };
}

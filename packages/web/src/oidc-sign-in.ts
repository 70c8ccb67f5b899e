import * as oidc from 'openid-client';
import { WebProviderUnavailableError, WebSignInRefusedError } from './web-errors.js';
import { WEB_DEFAULTS } from './defaults.js';

/** What `/login` keeps until the callback: the checks the provider's answer must pass. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The signed-in identity from a checked ID token. */
export interface SignedInIdentity {
  issuer: string;
  subject: string;
  claims: Readonly<Record<string, unknown>>;
}

/** Options of {@link OidcSignIn}. */
export interface OidcSignInOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The portal's callback, as registered at the provider. */
  redirectUri: string;
  /** Requests fail after this long. @defaultValue 10 s */
  timeoutSeconds?: number;
}

/**
 * The OpenID Connect authorization code flow with PKCE, `state` and `nonce` (openid-client). The
 * provider's discovery document is read on first use and kept; the ID token's signature is checked
 * against the provider's key set (fetched again when a token names a key it does not hold, so key
 * rotation works), and its issuer, audience, expiry and nonce are checked.
 */
export class OidcSignIn {
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly options: OidcSignInOptions) {}

  /** Where to send the browser, and what the callback must then match. */
  async begin(loginHint?: string): Promise<{ url: URL; pending: PendingSignIn }> {
    const config = await this.#config();
    const pending: PendingSignIn = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: 'openid profile email',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ...(loginHint ? { login_hint: loginHint } : {}),
    });
    return { url, pending };
  }

  /**
   * Redeems the code of the callback at `callbackUrl` and checks the ID token; a refusal (the
   * provider's error, a token that does not check out) is a {@link WebSignInRefusedError}.
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInIdentity> {
    const config = await this.#config();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw refusalOf(error);
    }
    const claims = tokens.claims();
    if (!claims) throw new WebSignInRefusedError('token-rejected', { detail: 'no ID token' });
    return { issuer: claims.iss, subject: claims.sub, claims };
  }

  #config(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, timeoutSeconds } = this.options;
    this.#configuration ??= (async () => {
      const insecure = issuer.startsWith('http:');
      try {
        const config = await oidc.discovery(new URL(issuer), clientId, clientSecret, undefined, {
          timeout: timeoutSeconds ?? WEB_DEFAULTS.oidcTimeoutSeconds,
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        });
        oidc.enableNonRepudiationChecks(config);
        config.timeout = timeoutSeconds ?? WEB_DEFAULTS.oidcTimeoutSeconds;
        return config;
      } catch (error) {
        throw new WebProviderUnavailableError(issuer, { cause: error });
      }
    })();
    // A failed discovery is tried again on the next sign-in rather than kept.
    this.#configuration.catch(() => (this.#configuration = undefined));
    return this.#configuration;
  }
}

/** The refusal a failed code grant becomes: the provider said no, or its answer did not check out. */
function refusalOf(error: unknown): WebSignInRefusedError {
  const detail = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError)
    return new WebSignInRefusedError('provider-error', { detail, providerError: error.error }, { cause: error });
  return new WebSignInRefusedError(
    'token-rejected',
    { detail, ...(typeof code === 'string' ? { check: code } : {}) },
    { cause: error },
  );
}

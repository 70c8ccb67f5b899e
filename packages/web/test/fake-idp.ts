import { createHash, randomBytes } from 'node:crypto';
import nock from 'nock';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** A signing key of the fake provider. */
export interface IdpKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** How a real provider looks: its discovery document and what its keys and ID tokens carry. */
export interface ProviderShape {
  name: string;
  issuer: string;
  metadata: Record<string, unknown>;
  /** Fields a key of this provider carries besides the RSA ones (Entra: `x5t`, `issuer`). */
  keyFields(kid: string): Record<string, unknown>;
  /** Keys in the set that are not for signatures (Keycloak's `RSA-OAEP` encryption key). */
  otherKeys: JWK[];
  /** Claims of this provider's ID token for `who`, besides iss, aud, sub, iat, exp and nonce. */
  claims(who: string): Record<string, unknown>;
  /** Whether the provider sends `iss` with the authorization response (RFC 9207). */
  sendsIss: boolean;
}

/** One code the fake provider issued, with what its token answer will be. */
interface IssuedCode {
  challenge: string;
  claims: Record<string, unknown>;
  key?: IdpKey;
  kid?: string;
  used: boolean;
}

export async function newKey(kid: string): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: await exportJWK(publicKey) };
}

/**
 * A provider of a real shape served at its real URLs through nock (which intercepts openid-client's
 * fetch): discovery, key set, and a token endpoint that checks the client secret, the code (once)
 * and the PKCE verifier, and answers with an ID token signed as the test says.
 */
export class FakeIdp {
  keys: IdpKey[] = [];
  readonly codes = new Map<string, IssuedCode>();
  tokenRequests = 0;
  jwksRequests = 0;

  constructor(
    readonly shape: ProviderShape,
    readonly clientId: string,
    readonly clientSecret: string,
  ) {}

  mount(): void {
    const { metadata, issuer } = this.shape;
    const discovery = new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    nock(discovery.origin).persist().get(discovery.pathname).reply(200, metadata);
    const jwks = new URL(String(metadata.jwks_uri));
    nock(jwks.origin)
      .persist()
      .get(jwks.pathname)
      .reply(() => {
        this.jwksRequests++;
        return [
          200,
          {
            keys: [
              ...this.keys.map((k) => ({
                ...k.publicJwk,
                kid: k.kid,
                use: 'sig',
                alg: 'RS256',
                ...this.shape.keyFields(k.kid),
              })),
              ...this.shape.otherKeys,
            ],
          },
        ];
      });
    const token = new URL(String(metadata.token_endpoint));
    nock(token.origin)
      .persist()
      .post(token.pathname)
      .reply(async (_uri, body) => {
        this.tokenRequests++;
        const form = new URLSearchParams(typeof body === 'string' ? body : '');
        const bad = (error: string) =>
          [400, { error, error_description: `fake ${this.shape.name}: ${error}` }] as const;
        if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
          return bad('invalid_client');
        const issued = this.codes.get(form.get('code') ?? '');
        if (!issued || issued.used) return bad('invalid_grant');
        issued.used = true;
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        if (challenge !== issued.challenge) return bad('invalid_grant');
        const key = issued.key ?? this.keys.at(-1)!;
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({ iat: now, exp: now + 3600, ...issued.claims })
          .setProtectedHeader({ alg: 'RS256', kid: issued.kid ?? key.kid, typ: 'JWT' })
          .sign(key.privateKey);
        return [
          200,
          {
            access_token: randomBytes(16).toString('hex'),
            token_type: 'Bearer',
            expires_in: 3599,
            scope: 'openid profile email',
            id_token: idToken,
          },
        ];
      });
  }

  /** Issues a code for a login whose PKCE challenge is `challenge`; its ID token carries `claims`. */
  issueCode(challenge: string, claims: Record<string, unknown>, signing: { key?: IdpKey; kid?: string } = {}): string {
    const code = randomBytes(16).toString('base64url');
    this.codes.set(code, { challenge, claims, used: false, ...signing });
    return code;
  }

  /** The claims a correct ID token for `who` carries after this login's `nonce`. */
  claimsFor(who: string, nonce: string | undefined): Record<string, unknown> {
    return {
      iss: this.shape.issuer,
      aud: this.clientId,
      ...(nonce !== undefined ? { nonce } : {}),
      ...this.shape.claims(who),
    };
  }
}

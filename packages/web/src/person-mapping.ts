import type { PersonRecord, Store } from '@lab/proxmox-sdk';
import type { WebConfig } from './web-config.js';
import { WebSignInRefusedError, WebUnknownPersonError } from './web-errors.js';

/**
 * The lab person a signed-in identity is: by the configured claim — the username claim, or the email
 * claim when the provider marks it verified (`email_verified: true`) — never by display name.
 */
export async function labPersonOf(
  store: Store,
  claims: Readonly<Record<string, unknown>>,
  oidc: Pick<WebConfig['oidc'], 'mapBy' | 'usernameClaim' | 'emailClaim' | 'usernameDomain'>,
): Promise<PersonRecord> {
  if (oidc.mapBy === 'username') {
    const username = claims[oidc.usernameClaim];
    if (typeof username !== 'string' || username.trim() === '')
      throw new WebSignInRefusedError('missing-claim', { claim: oidc.usernameClaim });
    const person = await store.classes.getPersonByUsername(labUsername(username, oidc.usernameDomain));
    if (!person) throw new WebUnknownPersonError({ mapBy: 'username', value: username.trim() });
    return person;
  }
  const email = claims[oidc.emailClaim];
  if (typeof email !== 'string' || !email.includes('@'))
    throw new WebSignInRefusedError('missing-claim', { claim: oidc.emailClaim });
  if (claims.email_verified !== true) throw new WebSignInRefusedError('email-not-verified', { claim: oidc.emailClaim });
  const wanted = email.trim().toLowerCase();
  const matches = (await store.classes.listPeople()).filter((p) => p.email?.trim().toLowerCase() === wanted);
  // Two people with one address cannot be told apart: neither is signed in.
  if (matches.length !== 1) throw new WebUnknownPersonError({ mapBy: 'email', value: email.trim() });
  return matches[0]!;
}

/** A username claim as a lab username: lower-cased, without `@<domain>` when that is the configured domain. */
export function labUsername(claim: string, domain: string | undefined): string {
  const name = claim.trim().toLowerCase();
  const suffix = domain ? `@${domain.toLowerCase()}` : undefined;
  return suffix && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

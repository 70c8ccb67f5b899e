import { isLabError, type DirectoryService, type PersonRecord } from '@lab/proxmox-sdk';
import type { WebConfig } from './web-config.js';
import { labUsername } from './person-mapping.js';
import type { WebContext } from './web-portal.js';

/** The group names or ids an ID token carries in `claim`, or undefined when it carries none. */
function groupsOf(claims: Readonly<Record<string, unknown>>, claim: string): string[] | undefined {
  const value = claims[claim];
  if (!Array.isArray(value)) return undefined;
  return value.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 512);
}

/**
 * Applies the directory's group mapping (`directory.groups`) to the groups claim of a sign-in, by
 * the same rules as the directory sync: before the person is looked up when the portal maps by
 * username (so a group may create them), after it when it maps by email (the person must exist).
 * A mapping that fails is audited and logged; the sign-in goes on with the lab's roster as it is.
 */
export async function applySignInGroups(
  context: Pick<WebContext, 'audit' | 'logger'> & { directory?: Pick<DirectoryService, 'enrolFromSignIn'> },
  oidc: WebConfig['oidc'],
  claims: Readonly<Record<string, unknown>>,
  actor: string,
  person?: PersonRecord,
): Promise<void> {
  const groups = context.directory ? groupsOf(claims, oidc.groupsClaim) : undefined;
  if (!context.directory || !groups) return;
  const claimed = claims[oidc.usernameClaim];
  const username =
    person?.username ?? (typeof claimed === 'string' ? labUsername(claimed, oidc.usernameDomain) : undefined);
  if (!username) return;
  const name = typeof claims.name === 'string' ? claims.name : undefined;
  const email = claims.email_verified === true && typeof claims.email === 'string' ? claims.email : undefined;
  try {
    const result = await context.directory.enrolFromSignIn({
      username,
      groups,
      ...(name !== undefined ? { displayName: name } : {}),
      ...(email !== undefined ? { email } : {}),
    });
    if (result.changes.length)
      context.logger.info('sign-in groups applied', { username, changes: result.changes.length });
  } catch (error) {
    const code = isLabError(error) ? error.code : 'LAB_INTERNAL';
    context.logger.warn('cannot apply the groups of a sign-in', { username, code, error });
    await context.audit({
      action: 'web.sign-in-groups',
      actor,
      target: username,
      outcome: 'failed',
      details: { code, platformUserId: actor },
    });
  }
}

import { NotAllowedError } from '../inventory/inventory-errors.js';
import { classesTaughtBy, type Viewer } from '../inventory/viewer.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { IdentityPlatform, IdentityRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { NotLinkedError, UnknownPersonError } from './people-errors.js';

/** Whose account on which platform to unlink. */
export interface UnlinkRequest {
  actor: Viewer;
  /** The person whose account goes. */
  username: string;
  platform: IdentityPlatform;
}

/**
 * Removes a person's chat account link on one platform: anyone their own; a teacher a student's
 * whose every class they teach; an admin anyone's. The account is then unknown to the lab (it
 * may join again, as a request the class's teachers approve). Audited as `identity.unlink`.
 */
export async function unlinkChatAccount(
  deps: { store: Store; clock?: Clock },
  request: UnlinkRequest,
): Promise<IdentityRecord> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const { actor, username, platform } = request;
  const person = await store.classes.getPersonByUsername(username);
  if (!person) throw new UnknownPersonError(username);
  const audit = (outcome: 'ok' | 'denied', details: Record<string, unknown>) =>
    store.audit.record({
      at: clock.now(),
      actor: actor.username,
      action: 'identity.unlink',
      target: `person ${person.username}`,
      outcome,
      details: { platform, ...details },
    });
  const deny = async (reason: string): Promise<never> => {
    await audit('denied', { reason });
    throw new NotAllowedError({
      actor: actor.username,
      action: `unlink the ${platform} account of`,
      target: username,
      reason,
    });
  };
  if (actor.personId !== person.id && actor.role !== 'admin') {
    if (actor.role !== 'teacher' || actor.personId === null) await deny('you may unlink only your own account');
    if (person.role !== 'student')
      await deny(`${username} is not a student; only an admin unlinks a teacher's or admin's account`);
    const taught = await classesTaughtBy(store, actor.personId!);
    const classes = (await store.classes.classesOf(person.id)).map((m) => m.classId);
    const foreign = classes.filter((c) => !taught.includes(c));
    if (classes.length === 0 || foreign.length)
      await deny(
        `${username} is a student of ${foreign.length ? foreign.join(', ') : 'none of your classes'}, which you do not teach`,
      );
  }
  const identity = (await store.classes.identitiesOf(person.id)).find((i) => i.platform === platform);
  if (!identity || !(await store.classes.unlinkIdentity(platform, identity.externalId)))
    throw new NotLinkedError(username, platform);
  await audit('ok', { externalId: identity.externalId });
  return identity;
}

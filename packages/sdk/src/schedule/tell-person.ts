import type { PersonNotifier } from '../ports/person-notifier.js';
import type { Store } from '../store/store.js';

/**
 * What became of a direct message: `delivered`; `failed` (the person has a chat account but the
 * message did not get through, so it is worth trying again); `unreachable` (no one to tell: no
 * owner, or no chat account the notifier sends to).
 */
export type TellOutcome = 'delivered' | 'failed' | 'unreachable';

/**
 * Sends `text` to the person by direct message and says what became of it. The person is reachable
 * when the notifier says so (`reaches`), or, for a notifier that cannot say, when they have any
 * linked chat account.
 */
export async function tellPerson(
  store: Store,
  notifier: PersonNotifier,
  personId: number | null,
  text: string,
): Promise<TellOutcome> {
  const person = personId === null ? undefined : await store.classes.getPerson(personId);
  if (!person) return 'unreachable';
  const who = { personId: person.id, username: person.username };
  if (await notifier.notifyPerson(who, text).catch(() => false)) return 'delivered';
  const reachable = notifier.reaches
    ? await notifier.reaches(who).catch(() => true)
    : (await store.classes.identitiesOf(person.id)).length > 0;
  return reachable ? 'failed' : 'unreachable';
}

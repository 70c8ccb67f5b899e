import type { PersonNotifier } from '../ports/person-notifier.js';
import type { Store } from '../store/store.js';
import { tellPerson } from './tell-person.js';

/**
 * Sends `text` to every teacher of the class (its owner and its teacher members) by direct message,
 * for a warning its student could not be given. Returns how many got it.
 */
export async function tellTeachers(
  store: Store,
  notifier: PersonNotifier,
  classId: string,
  text: string,
): Promise<number> {
  const klass = await store.classes.getClass(classId);
  const members = (await store.classes.members(classId)).filter((m) => m.role === 'teacher').map((m) => m.personId);
  const teachers = [...new Set([...(klass?.ownerId != null ? [klass.ownerId] : []), ...members])];
  let told = 0;
  for (const personId of teachers) if ((await tellPerson(store, notifier, personId, text)) === 'delivered') told++;
  return told;
}

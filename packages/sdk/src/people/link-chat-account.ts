import { NotAllowedError } from '../inventory/inventory-errors.js';
import { classesTaughtBy, type Viewer } from '../inventory/viewer.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ChatPlatform } from './chat-accounts.js';
import { UnknownClassError } from './people-errors.js';
import { assertIdentityPlatformId } from '../store/identity-platform.js';

/** What to link: the chat account `externalId` on `platform` to lab user `username`. */
export interface LinkRequest {
  actor: Viewer;
  platform: ChatPlatform;
  /** The platform's name in sentences (its `IdentityFormat.label`). @defaultValue Slack, Discord, else the id */
  platformLabel?: string;
  /** The account's user id (already resolved from a mention). */
  externalId: string;
  username: string;
  /** Enrol the person in this class as a student, too. */
  classId?: string;
}

/** What a link did. */
export interface LinkResult {
  person: PersonRecord;
  /** A new student was created for the username. */
  created: boolean;
  /** The person was enrolled in `classId`. */
  enrolled: boolean;
}

const PLATFORM_NAME: Readonly<Record<string, string>> = { slack: 'Slack', discord: 'Discord' };

/**
 * Links a chat account to a lab person, in one transaction, under the rules that keep it from
 * becoming a way to gain privileges:
 * - an account already linked to anyone else is never re-linked;
 * - admins may link anyone;
 * - a teacher may link only students: a new username (created as a student of `classId`) or an
 *   existing student whose every class is one the teacher teaches (after enrolling them in
 *   `classId`, which must also be theirs), and only while that student has no account on the
 *   platform yet — never a teacher or an admin.
 * Refusals are `NotAllowedError`s (audited as denied by the command layer).
 */
export async function linkChatAccount(
  deps: { store: Store; clock?: Clock },
  request: LinkRequest,
): Promise<LinkResult> {
  const clock = deps.clock ?? systemClock;
  const { actor, platform, externalId, username, classId } = request;
  assertIdentityPlatformId(platform);
  const label = request.platformLabel ?? PLATFORM_NAME[platform] ?? platform;
  const account = `the ${label} account ${externalId}`;
  const deny = (reason: string): never => {
    throw new NotAllowedError({ actor: actor.username, action: `link ${account} to`, target: username, reason });
  };
  return deps.store.transaction(async (tx) => {
    if (classId !== undefined && !(await tx.classes.getClass(classId)))
      throw new UnknownClassError(
        classId,
        (await tx.classes.listClasses()).map((c) => c.id),
      );
    const owner = await tx.classes.findByIdentity(platform, externalId);
    if (owner && owner.username !== username)
      deny(`it is already linked to ${owner.username}; an admin must remove that link first`);
    let person = await tx.classes.getPersonByUsername(username);
    if (actor.role !== 'admin') {
      const taught = actor.personId === null ? [] : await classesTaughtBy(tx, actor.personId);
      if (classId !== undefined && !taught.includes(classId))
        deny(`you do not teach ${classId}${taught.length ? ` (you teach ${taught.join(', ')})` : ''}`);
      if (person) {
        if (person.role !== 'student')
          deny(
            `${username} is ${person.role === 'admin' ? 'an admin' : 'a teacher'}; only an admin links accounts of teachers and admins`,
          );
        const classes = (await tx.classes.classesOf(person.id)).map((m) => m.classId);
        const foreign = classes.filter((c) => !taught.includes(c));
        if (foreign.length) deny(`${username} is a student of ${foreign.join(', ')}, which you do not teach`);
        if (classes.length === 0 && classId === undefined)
          deny(`${username} is in none of your classes; name the class you enrol them in`);
        const existing = (await tx.classes.identitiesOf(person.id)).filter(
          (i) => i.platform === platform && i.externalId !== externalId,
        );
        if (existing.length) deny(`${username} already has a ${label} account linked; an admin must change it`);
      } else if (classId === undefined) {
        deny('a new student must be enrolled in one of your classes; name the class');
      }
    }
    const created = !person;
    person ??= await tx.classes.createPerson({ username, displayName: username, role: 'student' }, clock.now());
    if (!owner) await tx.classes.linkIdentity({ personId: person.id, platform, externalId });
    let enrolled = false;
    if (classId !== undefined) {
      const member = (await tx.classes.members(classId)).find((m) => m.personId === person.id);
      if (!member) {
        await tx.classes.addMember({
          classId,
          personId: person.id,
          role: person.role === 'student' ? 'student' : 'teacher',
        });
        enrolled = true;
      }
    }
    return { person, created, enrolled };
  });
}

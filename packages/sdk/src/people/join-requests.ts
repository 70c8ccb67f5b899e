import { randomInt } from 'node:crypto';
import { NotAllowedError } from '../inventory/inventory-errors.js';
import { classesTaughtBy, type Viewer } from '../inventory/viewer.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { JoinRequestRecord, PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { IdentityTakenError, PersonAlreadyLinkedError } from '../store/store-errors.js';
import { JoinRequestNotPendingError } from './people-errors.js';

/** How long a join request waits for a teacher before it is void. */
export const JOIN_REQUEST_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A short id a teacher can type (`lab people approve K7PQ2M9A`): 8 characters, 40 bits. */
export function newJoinRequestId(): string {
  return Array.from({ length: 8 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');
}

/** Whether `actor` decides the join requests of `classId`: an admin, or one of the class's teachers. */
export async function decidesJoinsOf(store: Store, actor: Viewer, classId: string): Promise<boolean> {
  if (actor.role === 'admin') return true;
  if (actor.role !== 'teacher' || actor.personId === null) return false;
  return (await classesTaughtBy(store, actor.personId)).includes(classId);
}

/** What a decision did. */
export interface JoinDecision {
  request: JoinRequestRecord;
  person: PersonRecord;
}

/**
 * Approves or rejects a pending join request, as an admin or a teacher of its class. Approving
 * links the chat account to the roster student, enrols them and counts the invite's use, in one
 * transaction with the decision; a request is decided once, whoever presses at the same moment.
 * The database keeps one account per person per platform, so an approval of a second account is
 * refused. Audited as `join.approve` / `join.reject`.
 */
export async function decideJoinRequest(
  deps: { store: Store; clock?: Clock },
  request: { actor: Viewer; id: string; approve: boolean },
): Promise<JoinDecision> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const { actor, id, approve } = request;
  const action = approve ? 'join.approve' : 'join.reject';
  const found = await store.invites.joinRequest(id);
  if (!found) throw new JoinRequestNotPendingError(id, undefined);
  const audit = (outcome: 'ok' | 'denied', details: Record<string, unknown>) =>
    store.audit.record({
      at: clock.now(),
      actor: actor.username,
      action,
      target: `join request ${id}`,
      outcome,
      details,
    });
  if (!(await decidesJoinsOf(store, actor, found.classId))) {
    await audit('denied', { classId: found.classId, reason: 'not a teacher of the class' });
    throw new NotAllowedError({
      actor: actor.username,
      action: approve ? 'approve' : 'reject',
      target: `join request ${id}`,
      reason: `it is for class ${found.classId}, which you do not teach`,
    });
  }
  const decided = await store.transaction(async (tx): Promise<JoinDecision> => {
    const now = clock.now();
    const record = await tx.invites.decideJoin(id, approve ? 'approved' : 'rejected', actor.username, now);
    if (!record) throw new JoinRequestNotPendingError(id, (await tx.invites.joinRequest(id))?.status);
    const person = await tx.classes.getPerson(record.personId);
    if (!person) throw new JoinRequestNotPendingError(id, undefined);
    if (!approve) return { request: record, person };
    try {
      await tx.classes.linkIdentity({ personId: person.id, platform: record.platform, externalId: record.externalId });
    } catch (error) {
      if (error instanceof PersonAlreadyLinkedError || error instanceof IdentityTakenError)
        throw new NotAllowedError({
          actor: actor.username,
          action: 'approve',
          target: `join request ${id}`,
          reason:
            error instanceof PersonAlreadyLinkedError
              ? `${person.username} already has a ${record.platform} account linked; unlink it first (people unlink ${person.username} ${record.platform})`
              : `that ${record.platform} account is linked to someone else now`,
        });
      throw error;
    }
    await tx.invites.redeem(record.codeHash, person.id, now);
    await tx.classes.addMember({ classId: record.classId, personId: person.id, role: 'student' });
    return { request: record, person };
  });
  await audit('ok', {
    classId: decided.request.classId,
    username: decided.person.username,
    platform: decided.request.platform,
    externalId: decided.request.externalId,
  });
  return decided;
}

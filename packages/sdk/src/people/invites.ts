import { LabError } from '../errors/lab-error.js';
import { NotAllowedError } from '../inventory/inventory-errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { InviteRecord, JoinRequestRecord, PersonRecord } from '../store/records.js';
import { PersonAlreadyLinkedError } from '../store/store-errors.js';
import { JOIN_REQUEST_TTL_MS, newJoinRequestId } from './join-requests.js';
import type { Store } from '../store/store.js';
import { USERNAME, type ChatPlatform } from './chat-accounts.js';
import { generateInviteCode, hashInviteCode, normalizeInviteCode } from './invite-codes.js';
import {
  InvalidInviteError,
  JoinNeedsUsernameError,
  TooManyInviteAttemptsError,
  UnknownClassError,
} from './people-errors.js';

/** Defaults of invites and of joining with them, in one place. */
export const DefaultInviteOptions = {
  /** How long a new code works. */
  validForMs: 7 * 24 * 60 * 60 * 1000,
  /**
   * How many students may join with one code when the class has no students on its roster yet;
   * otherwise a code works for as many students as the roster has (see {@link createInvite}).
   */
  maxUses: 30,
  /** Wrong codes one chat account may try per window before it must wait. */
  maxFailures: 5,
  /** The window wrong codes are counted in. */
  failureWindowMs: 15 * 60 * 1000,
} as const satisfies Record<string, number>;

/** The audit action of every join attempt (its actor is `<platform>:<account id>`). */
export const JOIN_AUDIT_ACTION = 'invite.join';

/** A new invite: the code to hand out (shown once, never stored) and its record. */
export interface CreatedInvite {
  code: string;
  invite: InviteRecord;
}

/**
 * Makes an invite to `classId`; only the code's hash is stored. Without `maxUses` the code works for
 * as many students as the class's roster has (each may join once), or for
 * `DefaultInviteOptions.maxUses` when the roster is empty (students join under new names).
 */
export async function createInvite(
  deps: { store: Store; clock?: Clock },
  request: { classId: string; createdBy: number | null; maxUses?: number; validForMs?: number },
): Promise<CreatedInvite> {
  const clock = deps.clock ?? systemClock;
  if (!(await deps.store.classes.getClass(request.classId)))
    throw new UnknownClassError(
      request.classId,
      (await deps.store.classes.listClasses()).map((c) => c.id),
    );
  const rosterSize = (await deps.store.classes.members(request.classId)).filter((m) => m.role === 'student').length;
  const now = clock.now();
  const code = generateInviteCode();
  const invite = await deps.store.invites.create({
    codeHash: hashInviteCode(code),
    classId: request.classId,
    createdBy: request.createdBy,
    createdAt: now,
    expiresAt: now + (request.validForMs ?? DefaultInviteOptions.validForMs),
    maxUses: request.maxUses ?? (rosterSize || DefaultInviteOptions.maxUses),
  });
  return { code, invite };
}

/** Who joins with which code. */
export interface JoinRequest {
  code: string;
  platform: ChatPlatform;
  /** The chat account's user id. */
  externalId: string;
  /** Which roster entry is theirs, or the username they want when they are not on the roster. */
  username?: string;
  /**
   * The platforms whose accounts are chat accounts (the front ends whose accounts are linked by
   * hand or by code): a roster name linked on one of them cannot be claimed. A web sign-in or a CLI
   * user is no chat account. @defaultValue every platform
   */
  chatPlatforms?: readonly string[];
}

/** What joining did. */
export interface JoinResult {
  /** The student joined, or (with `request`) the roster student the account claims to be. */
  person: PersonRecord;
  classId: string;
  /** A new student was created (the roster had no unlinked student). */
  created: boolean;
  /** Set when the claim of a roster name waits for a teacher: nothing is linked yet. */
  request?: JoinRequestRecord;
}

/** The student already used this very code. */
export class InviteAlreadyUsedError extends LabError {
  static override readonly code: string = 'LAB_INVITE_ALREADY_USED';
  constructor(username: string, classId: string) {
    super(
      InviteAlreadyUsedError.code,
      `You (${username}) already joined ${classId} with this code; there is nothing more to do.`,
      { username, classId },
    );
  }
}

/**
 * Joins a class with an invite code from a chat account no one may know yet. Every attempt takes
 * one of the account's `maxFailures` tries per `failureWindowMs` from an atomic counter in the store
 * before the code is looked at, and gets it back unless the code was wrong, so parallel attempts
 * cannot try more wrong codes than that; unknown, expired and used-up codes get the same answer.
 * With a good code: a known account must belong to a student; an unknown one naming one of the
 * class's unlinked roster students makes a join request the class's teachers approve (anyone with
 * the code could claim that name); with no unlinked roster student it becomes a new student, the
 * use counted, the account linked and the student enrolled in one transaction. Attempts are
 * audited as `invite.join`.
 */
export async function joinWithInvite(
  deps: { store: Store; clock?: Clock },
  request: JoinRequest,
  options: { maxFailures?: number; failureWindowMs?: number } = {},
): Promise<JoinResult> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const maxFailures = options.maxFailures ?? DefaultInviteOptions.maxFailures;
  const windowMs = options.failureWindowMs ?? DefaultInviteOptions.failureWindowMs;
  const actor = `${request.platform}:${request.externalId}`;
  const now = clock.now();
  const audit = (outcome: 'ok' | 'denied', details: Record<string, unknown>, target = 'invite') =>
    store.audit.record({ at: clock.now(), actor, action: JOIN_AUDIT_ACTION, target, outcome, details });

  const limitKey = `invite-join:${actor}`;
  const tried = await store.rateLimits.hit(limitKey, maxFailures, windowMs, now);
  if (!tried.allowed) {
    await audit('denied', { reason: 'rate-limited', failures: tried.count });
    throw new TooManyInviteAttemptsError({ account: actor, failures: tried.count, windowMs });
  }
  const code = normalizeInviteCode(request.code);
  const invite = code === undefined ? undefined : await store.invites.get(hashInviteCode(code));
  if (!invite || now > invite.expiresAt || invite.uses >= invite.maxUses) {
    await audit('denied', { reason: 'invalid-code', ...(invite ? { classId: invite.classId } : {}) });
    throw new InvalidInviteError();
  }
  // A good code is not a wrong try.
  await store.rateLimits.giveBack(limitKey);
  const classId = invite.classId;
  try {
    const result = await store.transaction(async (tx): Promise<JoinResult> => {
      let person = await tx.classes.findByIdentity(request.platform, request.externalId);
      let created = false;
      if (person) {
        if (person.role !== 'student') {
          throw new NotAllowedError({
            actor: person.username,
            action: 'join',
            target: classId,
            reason: `invite codes are for students and you are ${person.role === 'admin' ? 'an admin' : 'a teacher'}; ask an admin to add you`,
          });
        }
        if (request.username !== undefined && request.username !== person.username) {
          throw new NotAllowedError({
            actor: person.username,
            action: 'join as',
            target: request.username,
            reason: `this account is linked to ${person.username}`,
          });
        }
      } else {
        // Only a roster name nobody has linked any chat account to yet can be claimed with a code: a
        // name linked on one platform is that student's, whoever holds the class's code on another.
        const students = (await tx.classes.members(classId)).filter((m) => m.role === 'student');
        const waiting: PersonRecord[] = [];
        const linked = new Set<string>();
        for (const m of students) {
          const p = await tx.classes.getPerson(m.personId);
          if (!p) continue;
          const accounts = (await tx.classes.identitiesOf(m.personId)).filter(
            (i) => !request.chatPlatforms || request.chatPlatforms.includes(i.platform),
          );
          if (accounts.length === 0) waiting.push(p);
          else linked.add(p.username);
        }
        if (request.username !== undefined && linked.has(request.username))
          throw new JoinNeedsUsernameError(classId, 'linked', request.username);
        if (waiting.length) {
          if (request.username === undefined) throw new JoinNeedsUsernameError(classId, 'which');
          const claimed = waiting.find((p) => p.username === request.username);
          if (!claimed) throw new JoinNeedsUsernameError(classId, 'not-on-roster', request.username);
          // Anyone with the code could claim this name: a teacher of the class decides.
          const open = (await tx.invites.joinRequests({ classId, status: 'pending' })).find(
            (r) =>
              r.personId === claimed.id &&
              r.platform === request.platform &&
              r.externalId === request.externalId &&
              r.expiresAt >= now,
          );
          const joinRequest = open ?? {
            id: newJoinRequestId(),
            classId,
            personId: claimed.id,
            platform: request.platform,
            externalId: request.externalId,
            codeHash: invite.codeHash,
            status: 'pending' as const,
            createdAt: now,
            expiresAt: now + JOIN_REQUEST_TTL_MS,
            decidedBy: null,
            decidedAt: null,
          };
          if (!open) await tx.invites.requestJoin(joinRequest);
          return { person: claimed, classId, created: false, request: joinRequest };
        } else {
          const username = request.username ?? `${request.platform}-${request.externalId.toLowerCase()}`.slice(0, 32);
          if (!USERNAME.test(username)) throw new JoinNeedsUsernameError(classId, 'invalid', username);
          if (await tx.classes.getPersonByUsername(username))
            throw new JoinNeedsUsernameError(classId, 'taken', username);
          person = await tx.classes.createPerson({ username, displayName: username, role: 'student' }, now);
          created = true;
        }
      }
      const redeemed = await tx.invites.redeem(invite.codeHash, person.id, now);
      if (redeemed === 'already-used') throw new InviteAlreadyUsedError(person.username, classId);
      if (redeemed !== 'ok') throw new InvalidInviteError();
      try {
        await tx.classes.linkIdentity({
          personId: person.id,
          platform: request.platform,
          externalId: request.externalId,
        });
      } catch (error) {
        // Another account joined as this person at the same moment: the database kept the first.
        if (error instanceof PersonAlreadyLinkedError)
          throw new JoinNeedsUsernameError(classId, 'linked', person.username);
        throw error;
      }
      await tx.classes.addMember({ classId, personId: person.id, role: 'student' });
      return { person, classId, created };
    });
    await audit(
      'ok',
      {
        classId,
        username: result.person.username,
        created: result.created,
        ...(result.request ? { joinRequest: result.request.id } : {}),
      },
      `class ${classId}`,
    );
    return result;
  } catch (error) {
    await audit('denied', { reason: error instanceof LabError ? error.code : 'error', classId }, `class ${classId}`);
    throw error;
  }
}

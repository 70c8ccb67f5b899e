import { NotAllowedError } from '../inventory/inventory-errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { EpochMs, PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ChatPlatform } from './chat-accounts.js';
import { generateLinkCode, hashLinkCode, normalizeLinkCode } from './link-code-text.js';
import { InvalidLinkCodeError, TooManyLinkAttemptsError } from './link-code-errors.js';

/** Defaults of link codes, in one place. */
export const DefaultLinkCodeOptions = {
  /** How long a code works after the portal shows it. */
  ttlMs: 10 * 60_000,
  /** Wrong codes one chat account may try per window before it must wait. */
  maxFailures: 5,
  /** The window wrong codes are counted in. */
  failureWindowMs: 15 * 60_000,
} as const satisfies Record<string, number>;

/** The audit action of every use of a link code (its actor is `<platform>:<account id>` until it links). */
export const LINK_ME_AUDIT_ACTION = 'person.link-me';
/** The audit action of making a link code. */
export const LINK_CODE_AUDIT_ACTION = 'person.link-code';

/** A new code (shown once, never stored) and when it stops working. */
export interface IssuedLinkCode {
  code: string;
  expiresAt: EpochMs;
}

/**
 * Makes a one-time link code for `personId`, whose identity the caller has proven (the portal's
 * school sign-in). Only its hash is stored; the person's earlier unused code stops working.
 */
export async function issueLinkCode(
  deps: { store: Store; clock?: Clock },
  request: { personId: number; actor: string; ttlMs?: number },
): Promise<IssuedLinkCode> {
  const clock = deps.clock ?? systemClock;
  const now = clock.now();
  await deps.store.linkCodes.prune(now - 24 * 60 * 60_000);
  const code = generateLinkCode();
  const expiresAt = now + (request.ttlMs ?? DefaultLinkCodeOptions.ttlMs);
  await deps.store.linkCodes.create({
    codeHash: hashLinkCode(code),
    personId: request.personId,
    createdAt: now,
    expiresAt,
  });
  await deps.store.audit.record({
    at: now,
    actor: request.actor,
    action: LINK_CODE_AUDIT_ACTION,
    target: `person/${request.personId}`,
    outcome: 'ok',
    details: { expiresAt },
  });
  return { code, expiresAt };
}

/** Which chat account types which code. */
export interface RedeemLinkCodeRequest {
  code: string;
  platform: ChatPlatform;
  externalId: string;
}

/** What using a link code did. */
export interface LinkCodeResult {
  person: PersonRecord;
  /** The account was linked to that person already (the code is spent all the same). */
  alreadyLinked: boolean;
}

const PLATFORM_NAME: Readonly<Record<string, string>> = { slack: 'Slack', discord: 'Discord' };

/**
 * Links the chat account that typed `code` to the person the code was made for, in one
 * transaction: the code is spent only if the link is made. Refused (and audited, `denied`): a
 * wrong, expired or used code (one answer for all; counted per chat account, and past `maxFailures`
 * in `failureWindowMs` refused outright), an account linked to someone else, or a person who has
 * another account on that platform already (an admin changes those).
 */
export async function redeemLinkCode(
  deps: { store: Store; clock?: Clock },
  request: RedeemLinkCodeRequest,
  options: { maxFailures?: number; failureWindowMs?: number } = {},
): Promise<LinkCodeResult> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const maxFailures = options.maxFailures ?? DefaultLinkCodeOptions.maxFailures;
  const windowMs = options.failureWindowMs ?? DefaultLinkCodeOptions.failureWindowMs;
  const account = `${request.platform}:${request.externalId}`;
  const now = clock.now();
  const audit = (actor: string, outcome: 'ok' | 'denied', details: Record<string, unknown>) =>
    store.audit.record({ at: clock.now(), actor, action: LINK_ME_AUDIT_ACTION, target: account, outcome, details });

  // Every try is counted first, atomically across processes; a code that turns out good is given back.
  const limitKey = `link-me:${account}`;
  const tried = await store.rateLimits.hit(limitKey, maxFailures, windowMs, now);
  if (!tried.allowed) {
    await audit(account, 'denied', { reason: 'rate-limited', failures: tried.count });
    throw new TooManyLinkAttemptsError({ account, failures: tried.count, windowMs });
  }
  const normalized = normalizeLinkCode(request.code);
  if (normalized === undefined) {
    await audit(account, 'denied', { reason: 'invalid-code', why: 'malformed' });
    throw new InvalidLinkCodeError();
  }
  const platform = PLATFORM_NAME[request.platform] ?? request.platform;
  try {
    const result = await store.transaction(async (tx): Promise<LinkCodeResult> => {
      const redeemed = await tx.linkCodes.redeem(hashLinkCode(normalized), account, now);
      if (redeemed.outcome !== 'ok') throw new RefusedCode(redeemed.outcome);
      const person = await tx.classes.getPerson(redeemed.code.personId);
      if (!person) throw new RefusedCode('unknown');
      const deny = (reason: string): never => {
        throw new NotAllowedError({
          actor: account,
          action: `link the ${platform} account ${request.externalId} to`,
          target: person.username,
          reason,
        });
      };
      const owner = await tx.classes.findByIdentity(request.platform, request.externalId);
      if (owner && owner.id !== person.id)
        deny(`that ${platform} account is linked to ${owner.username}; an admin must remove that link first`);
      if (owner) return { person, alreadyLinked: true };
      const other = (await tx.classes.identitiesOf(person.id)).find((i) => i.platform === request.platform);
      if (other) deny(`${person.username} already has another ${platform} account linked; an admin must change it`);
      await tx.classes.linkIdentity({
        personId: person.id,
        platform: request.platform,
        externalId: request.externalId,
      });
      return { person, alreadyLinked: false };
    });
    await store.rateLimits.giveBack(limitKey);
    await audit(result.person.username, 'ok', { account, alreadyLinked: result.alreadyLinked });
    return result;
  } catch (error) {
    if (error instanceof RefusedCode) {
      await audit(account, 'denied', { reason: 'invalid-code', why: error.why });
      throw new InvalidLinkCodeError();
    }
    if (error instanceof NotAllowedError) {
      await store.rateLimits.giveBack(limitKey);
      await audit(account, 'denied', { reason: error.message });
    }
    throw error;
  }
}

/** Why a code was refused, carried out of the transaction (which it rolls back). */
class RefusedCode extends Error {
  constructor(readonly why: 'unknown' | 'expired' | 'used') {
    super(why);
  }
}

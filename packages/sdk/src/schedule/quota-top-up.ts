import { LabError } from '../errors/lab-error.js';
import type { EpochMs, QuotaTopUpRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** The most hours one top-up may add. */
export const MAX_TOP_UP_HOURS = 1_000;

/** A top-up amount that is not a positive number of hours or minutes. */
export class TopUpAmountError extends LabError {
  static override readonly code: string = 'LAB_TOP_UP_AMOUNT';
  constructor(amount: string) {
    const negative = /^\s*-/.test(amount);
    super(
      TopUpAmountError.code,
      negative
        ? `'${amount}' would take hours away; a top-up only adds them (e.g. +5h or +30m), and the class quota itself is set with /lab limits --quota-hours`
        : `'${amount}' is not an amount of time to add; write hours or minutes such as +5h, 1.5h or +30m (at most ${MAX_TOP_UP_HOURS} h)`,
      { amount },
    );
  }
}

/** A top-up for a class that has no quota to add to. */
export class NoQuotaToTopUpError extends LabError {
  static override readonly code: string = 'LAB_NO_QUOTA';
  constructor(classId: string) {
    super(
      NoQuotaToTopUpError.code,
      `${classId} has no quota, so its students' hours are not limited and a top-up would change nothing; set one first with /lab limits ${classId} --quota-hours 10`,
      { classId },
    );
  }
}

/**
 * Reads a top-up amount: `+5h`, `5h`, `1.5h`, `+30m`, `90min`, or a bare number of hours. Anything
 * negative, zero, unreadable or above {@link MAX_TOP_UP_HOURS} → `TopUpAmountError`.
 */
export function parseTopUpHours(amount: string): number {
  const m = /^\s*\+?\s*(\d+(?:\.\d+)?)\s*(h|hours?|m|min|minutes?)?\s*$/i.exec(amount);
  if (!m) throw new TopUpAmountError(amount);
  const value = Number(m[1]);
  const hours = Math.round((/^m/i.test(m[2] ?? 'h') ? value / 60 : value) * 1_000) / 1_000;
  if (!(hours > 0) || hours > MAX_TOP_UP_HOURS) throw new TopUpAmountError(amount);
  return hours;
}

/** What a top-up did: `applied` false when its idempotency key was used before (a retry). */
export interface TopUpOutcome {
  applied: boolean;
  topUp: QuotaTopUpRecord;
}

/**
 * Gives a student `hours` more of the class's quota, once per `idempotencyKey`: the top-up and its
 * audit entry (`quota.top-up`) are written in one store transaction, so two processes, a retry or
 * a process killed half-way apply it once and audit it once. A class without a quota →
 * `NoQuotaToTopUpError`.
 */
export async function topUpQuota(
  store: Store,
  input: {
    classId: string;
    person: { id: number; username: string };
    hours: number;
    idempotencyKey: string;
    actor: string;
    at: EpochMs;
  },
): Promise<TopUpOutcome> {
  if (!(input.hours > 0) || input.hours > MAX_TOP_UP_HOURS) throw new TopUpAmountError(String(input.hours));
  const policy = await store.usage.policy(input.classId);
  if (policy?.quotaHours == null) throw new NoQuotaToTopUpError(input.classId);
  return store.transaction(async (tx) => {
    const outcome = await tx.usage.addTopUp({
      classId: input.classId,
      personId: input.person.id,
      hours: input.hours,
      idempotencyKey: input.idempotencyKey,
      actor: input.actor,
      at: input.at,
    });
    if (outcome.applied)
      await tx.audit.record({
        at: input.at,
        actor: input.actor,
        action: 'quota.top-up',
        target: `class ${input.classId}`,
        outcome: 'ok',
        details: {
          classId: input.classId,
          student: input.person.username,
          personId: input.person.id,
          hours: input.hours,
          idempotencyKey: input.idempotencyKey,
        },
      });
    return outcome;
  });
}

import type { Logger } from '../ports/logger.js';
import type { PersonNotifier } from '../ports/person-notifier.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { tellPerson } from './tell-person.js';
import { formatHours, type StudentUsage } from './usage.js';

/** The share of a student's hours after which their teachers are told. */
export const QUOTA_NOTICE_SHARE = 0.8;
/** How long a notice is remembered (longer than any term). */
const NOTICE_TTL_MS = 400 * 86_400_000;

/**
 * Tells the class's teachers (its owner and teacher members) by direct message when a student has
 * used more than 80 % of their hours (quota plus top-ups), once per allowance: the claim is a store
 * nonce keyed by class, student and allowance, so a lease handover does not tell twice, and a top-up
 * that lifts the allowance makes a later crossing a new notice. When no teacher could be reached but
 * one has a chat account, the claim is given back and the next round tries again.
 */
export async function noticeQuotaShare(
  deps: { store: Store; notifier: PersonNotifier; logger?: Logger },
  usage: StudentUsage,
  now: EpochMs,
): Promise<'told' | 'not-due' | 'failed'> {
  const { store, notifier } = deps;
  if (usage.quotaMs === null || usage.quotaMs === 0 || usage.usedMs < usage.quotaMs * QUOTA_NOTICE_SHARE)
    return 'not-due';
  const key = `quota-notice:${usage.classId}:${usage.personId}:${usage.quotaMs}`;
  if (!(await store.nonces.claim(key, now + NOTICE_TTL_MS, now))) return 'not-due';
  const [klass, members, student] = await Promise.all([
    store.classes.getClass(usage.classId),
    store.classes.members(usage.classId),
    store.classes.getPerson(usage.personId),
  ]);
  const teachers = [
    ...new Set([
      ...(klass?.ownerId != null ? [klass.ownerId] : []),
      ...members.filter((m) => m.role === 'teacher').map((m) => m.personId),
    ]),
  ];
  const percent = Math.floor((usage.usedMs / usage.quotaMs) * 100);
  const text = `${student?.username ?? `Student #${usage.personId}`} has used ${percent}% of their hours in ${usage.classId} (${formatHours(usage.usedMs)} of ${formatHours(usage.quotaMs)} outside sessions). Give more with /lab quota ${usage.classId} ${student?.username ?? ''} +5h if they need it.`;
  let told = 0;
  let failed = 0;
  for (const personId of teachers) {
    const outcome = await tellPerson(store, notifier, personId, text);
    if (outcome === 'delivered') told++;
    else if (outcome === 'failed') failed++;
  }
  if (told > 0) return 'told';
  if (failed > 0) {
    await store.nonces.take(key, now);
    deps.logger?.warn('quota notice to teachers not delivered; trying again next round', {
      classId: usage.classId,
      personId: usage.personId,
    });
  }
  return 'failed';
}

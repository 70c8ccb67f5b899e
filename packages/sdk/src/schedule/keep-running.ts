import { LabError } from '../errors/lab-error.js';
import { NotAllowedError } from '../inventory/inventory-errors.js';
import { denialReason, type Viewer } from '../inventory/viewer.js';
import type { ClassScheduleRecord, EpochMs, VmIdleRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_IDLE_WARNING_MINUTES } from './idle-warning-default.js';
import { classTimeZone, formatLocalTime } from './local-time.js';
import { pendingQuotaWarning } from './quota-warning.js';
import { sessionsBetween } from './schedule-spec.js';

/** Keeps per session of a class without a time policy. */
export const DEFAULT_KEEPS_PER_SESSION = 1;

/** `/myvm keep` was used as often as the class allows since the last session boundary. */
export class KeepAlreadyUsedError extends LabError {
  static override readonly code: string = 'LAB_KEEP_USED';
  constructor(facts: { vm: string; classId: string; keptAt: EpochMs; keepsPerSession: number }) {
    const allowed = facts.keepsPerSession === 1 ? 'one keep' : `${facts.keepsPerSession} keeps`;
    super(
      KeepAlreadyUsedError.code,
      `${facts.vm} was last kept running at ${new Date(facts.keptAt).toISOString()}, and ${facts.classId} allows ${allowed} per session; save your work before it stops`,
      facts,
    );
  }
}

/** The class allows no `/myvm keep` at all (`keepsPerSession` 0). */
export class KeepNotAllowedError extends LabError {
  static override readonly code: string = 'LAB_KEEP_NOT_ALLOWED';
  constructor(facts: { vm: string; classId: string }) {
    super(
      KeepNotAllowedError.code,
      `${facts.classId} does not let ${facts.vm} be kept running past an idle warning; save your work before it stops`,
      facts,
    );
  }
}

/** `/myvm keep` with no idle warning pending: there is nothing to keep, and no keep is used. */
export class NothingToKeepError extends LabError {
  static override readonly code: string = 'LAB_NOTHING_TO_KEEP';
  constructor(facts: { vm: string }) {
    super(
      NothingToKeepError.code,
      `${facts.vm} has no idle warning pending, so there is nothing to keep; use /myvm keep after an idle warning`,
      facts,
    );
  }
}

/** `/myvm keep` after a quota warning: a keep does not stop a quota shutdown. */
export class KeepAfterQuotaError extends LabError {
  static override readonly code: string = 'LAB_KEEP_QUOTA';
  constructor(facts: { vm: string; classId: string; stopsAt: EpochMs; timezone: string }) {
    super(
      KeepAfterQuotaError.code,
      `${facts.vm} stops at ${formatLocalTime(facts.stopsAt, facts.timezone)} because its hours outside ${facts.classId}'s sessions are used up, which /myvm keep cannot change; save your work now and ask your teacher for more hours`,
      facts,
    );
  }
}

/**
 * Keeps the VM's owner used since the last session boundary (a session's warm-up or end) of the
 * class: a keep recorded before a boundary that has passed by `now` counts no more.
 */
export function keepsUsedNow(
  record: VmIdleRecord | undefined,
  schedules: readonly ClassScheduleRecord[],
  now: EpochMs,
): number {
  const keptAt = record?.keptAt;
  if (keptAt == null) return 0;
  const crossed = schedules
    .flatMap((s) => sessionsBetween(s, keptAt, now))
    .some((s) => (s.warmupAt > keptAt && s.warmupAt <= now) || (s.end > keptAt && s.end <= now));
  return crossed ? 0 : record!.keepsUsed;
}

/**
 * Keeps a VM running past its idle warning (`/myvm keep`): its idle time starts again now. A class
 * allows `keepsPerSession` keeps per VM between two session boundaries (1 unless its time policy
 * says otherwise): one more → `KeepAlreadyUsedError`; a class that allows none →
 * `KeepNotAllowedError`. A VM of no class is not limited. With no idle warning pending →
 * `NothingToKeepError`, and a VM warned for its quota → `KeepAfterQuotaError` (when it stops);
 * neither uses a keep.
 */
export async function keepVmRunning(
  store: Store,
  viewer: Viewer,
  clusterId: string,
  vmid: number,
  now: EpochMs,
): Promise<{ postponed: boolean; keepsLeft: number | null }> {
  const assignment = await store.classes.assignment(clusterId, vmid);
  const reason = await denialReason(store, viewer, assignment);
  const vm = await store.inventory.get(clusterId, vmid);
  if (reason) throw new NotAllowedError({ actor: viewer.username, action: 'keep', target: `VM ${vmid}`, reason });
  const name = vm?.name ?? `VM ${vmid}`;
  const record = await store.usage.idle(clusterId, vmid);
  const classId = assignment?.classId ?? null;
  let used = 0;
  let allowed: number | null = null;
  if (classId !== null) {
    const [policy, schedules] = await Promise.all([store.usage.policy(classId), store.schedules.list(classId)]);
    const quota = await pendingQuotaWarning(store, { clusterId, vmid }, now);
    if (quota)
      throw new KeepAfterQuotaError({
        vm: name,
        classId,
        stopsAt: quota.warnedAt + (policy?.idleWarnMinutes ?? DEFAULT_IDLE_WARNING_MINUTES) * 60_000,
        timezone: classTimeZone(schedules),
      });
    if (record?.warnedAt == null) throw new NothingToKeepError({ vm: name });
    allowed = policy?.keepsPerSession ?? DEFAULT_KEEPS_PER_SESSION;
    if (allowed === 0) throw new KeepNotAllowedError({ vm: name, classId });
    used = keepsUsedNow(record, schedules, now);
    if (used >= allowed)
      throw new KeepAlreadyUsedError({ vm: name, classId, keptAt: record.keptAt!, keepsPerSession: allowed });
  } else {
    if (record?.warnedAt == null) throw new NothingToKeepError({ vm: name });
    used = record.keepsUsed;
  }
  await store.usage.saveIdle({ clusterId, vmid, idleSince: now, warnedAt: null, keptAt: now, keepsUsed: used + 1 });
  await store.audit.record({
    at: now,
    actor: viewer.username,
    action: 'vm.keep',
    target: `${clusterId}/${vmid}`,
    outcome: 'ok',
    details: { wasWarned: record?.warnedAt != null, keepsUsed: used + 1 },
  });
  return { postponed: record?.warnedAt != null, keepsLeft: allowed === null ? null : allowed - used - 1 };
}

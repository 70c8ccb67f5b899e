import { LabError } from '../errors/lab-error.js';
import type { Viewer } from '../inventory/viewer.js';
import type { ClassScheduleRecord, EpochMs, VmAssignmentRecord, VmUsageIntervalRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { classTimeZone, formatLocalTime } from './local-time.js';
import { currentSession, nextSession, sessionsBetween, type ClassSession } from './schedule-spec.js';
import { resourceHours, type ResourceHours } from './usage-cost.js';

const HOUR = 3_600_000;

/** A student's running time in a class, outside its scheduled sessions, against the class quota. */
export interface StudentUsage {
  classId: string;
  personId: number;
  /** Milliseconds the student's VMs of the class ran outside sessions (warm-up counts as session). */
  usedMs: number;
  /** The quota in milliseconds, top-ups included; null when the class has none. */
  quotaMs: number | null;
  /** Hours of top-ups the student got in the class (`/lab quota`), in `quotaMs` already. */
  topUpHours: number;
  /** Milliseconds the student's VMs of the class ran in all, sessions included (what the cost estimate counts). */
  runMs: number;
  /** The vCPU and memory hours of `runMs`, at each VM's current size. */
  resources: ResourceHours;
  /** What is left (never negative); null when the class has no quota. */
  leftMs: number | null;
  /** The student's VMs of the class running now (as the inventory knows it). */
  running: number;
}

/** A student may not start a VM: no quota hours left outside a session. */
export class QuotaExceededError extends LabError {
  static override readonly code: string = 'LAB_QUOTA_EXCEEDED';
  constructor(facts: {
    classId: string;
    username: string;
    quotaHours: number;
    nextSessionAt: EpochMs | null;
    /** The class's time zone, for the next session's time. @defaultValue UTC */
    timezone?: string;
  }) {
    const next =
      facts.nextSessionAt === null
        ? 'no session is scheduled, so ask your teacher for more hours'
        : `the next session starts at ${formatLocalTime(facts.nextSessionAt, facts.timezone)}`;
    super(
      QuotaExceededError.code,
      `${facts.username} has used all ${formatHours(facts.quotaHours * HOUR)} that ${facts.classId} allows outside its sessions, so the VM cannot start now; ${next}`,
      facts,
    );
  }
}

/** A student may not start another VM: the class's running limit is reached. */
export class TooManyRunningError extends LabError {
  static override readonly code: string = 'LAB_MAX_RUNNING';
  constructor(facts: { classId: string; username: string; maxRunning: number }) {
    super(
      TooManyRunningError.code,
      `${facts.username} already has ${facts.maxRunning} VM(s) of ${facts.classId} running, the most the class allows; stop one first`,
      facts,
    );
  }
}

/** Merged `[from, to)` windows of the sessions (warm-up included) that touch `[from, to)`. */
function sessionWindows(
  schedules: readonly ClassScheduleRecord[],
  from: EpochMs,
  to: EpochMs,
): Array<[number, number]> {
  const windows = schedules
    .flatMap((s) => sessionsBetween(s, from, to))
    .map((s: ClassSession) => [s.warmupAt, s.end] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const w of windows) {
    const last = merged.at(-1);
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else merged.push([...w]);
  }
  return merged;
}

/** A student may not start a VM outside a session: the class's running limit is reached. */
export class ClassRunningLimitError extends LabError {
  static override readonly code: string = 'LAB_CLASS_RUNNING_LIMIT';
  constructor(facts: {
    classId: string;
    maxRunningInClass: number;
    nextSessionAt?: EpochMs | null;
    /** The class's time zone, for the next session's time. @defaultValue UTC */
    timezone?: string;
  }) {
    const next =
      facts.nextSessionAt == null
        ? ''
        : `, or in the next session at ${formatLocalTime(facts.nextSessionAt, facts.timezone)}`;
    super(
      ClassRunningLimitError.code,
      `${facts.maxRunningInClass} VM(s) of ${facts.classId} are running already, the most the class allows outside its sessions; try again when one stops${next}, or ask your teacher`,
      facts,
    );
  }
}

/** Milliseconds of `intervals` (open ones up to `now`) that fall outside every session of `schedules`. */
export function outsideSessionMs(
  intervals: readonly VmUsageIntervalRecord[],
  schedules: readonly ClassScheduleRecord[],
  now: EpochMs,
): number {
  let total = 0;
  for (const i of intervals) {
    const end = Math.min(i.endedAt ?? now, now);
    if (end <= i.startedAt) continue;
    let inside = 0;
    for (const [a, b] of sessionWindows(schedules, i.startedAt, end))
      inside += Math.max(0, Math.min(b, end) - Math.max(a, i.startedAt));
    total += end - i.startedAt - inside;
  }
  return total;
}

/** The student's usage in the class as of `now`, from the store's ledger (no PVE request). */
export async function studentUsage(
  store: Store,
  classId: string,
  personId: number,
  now: EpochMs,
): Promise<StudentUsage> {
  const vms = (await store.classes.assignmentsOf(personId)).filter(
    (a) => a.classId === classId && a.role === 'student',
  );
  const [policy, schedules, intervals, rows, topUps] = await Promise.all([
    store.usage.policy(classId),
    store.schedules.list(classId),
    store.usage.intervals(vms),
    Promise.all(vms.map((v) => store.inventory.get(v.clusterId, v.vmid))),
    store.usage.topUps(classId, personId),
  ]);
  const usedMs = outsideSessionMs(intervals, schedules, now);
  const topUpHours = topUps.reduce((sum, t) => sum + t.hours, 0);
  const quotaMs = policy?.quotaHours == null ? null : Math.round((policy.quotaHours + topUpHours) * HOUR);
  const resources: ResourceHours = { vcpuHours: 0, gibHours: 0 };
  let runMs = 0;
  for (const i of intervals) {
    const ms = Math.max(0, Math.min(i.endedAt ?? now, now) - i.startedAt);
    runMs += ms;
    const used = resourceHours(
      ms,
      rows.find((r) => r?.clusterId === i.clusterId && r.vmid === i.vmid),
    );
    resources.vcpuHours += used.vcpuHours;
    resources.gibHours += used.gibHours;
  }
  return {
    classId,
    personId,
    usedMs,
    quotaMs,
    topUpHours,
    runMs,
    resources,
    leftMs: quotaMs === null ? null : Math.max(0, quotaMs - usedMs),
    running: rows.filter((r) => r?.status === 'running').length,
  };
}

/** Every student's usage in the class (members and owners of student VMs), by person id. */
export async function classUsage(store: Store, classId: string, now: EpochMs): Promise<StudentUsage[]> {
  const members = (await store.classes.members(classId)).filter((m) => m.role === 'student').map((m) => m.personId);
  const owners = (await store.classes.assignmentsOfClass(classId))
    .filter((a) => a.role === 'student' && a.personId !== null)
    .map((a) => a.personId!);
  const people = [...new Set([...members, ...owners])].sort((a, b) => a - b);
  return Promise.all(people.map((p) => studentUsage(store, classId, p, now)));
}

/**
 * Refuses a student's start of a class VM outside a session when the class's quota is used up
 * (`QuotaExceededError`, naming the next session), when `maxRunning` of their class VMs run
 * already (`TooManyRunningError`), or, outside a session, when `maxRunningInClass` student VMs of
 * the class run (`ClassRunningLimitError`). Teachers and admins, and VMs of no class, are not limited.
 */
export async function assertMayStart(
  store: Store,
  viewer: Viewer,
  assignment: VmAssignmentRecord | undefined,
  now: EpochMs,
): Promise<void> {
  if (viewer.role !== 'student' || viewer.personId === null || !assignment?.classId || assignment.role !== 'student')
    return;
  const classId = assignment.classId;
  const policy = await store.usage.policy(classId);
  if (!policy || (policy.quotaHours === null && policy.maxRunning === null && policy.maxRunningInClass === null))
    return;
  const usage = await studentUsage(store, classId, viewer.personId, now);
  if (policy.maxRunning !== null && usage.running >= policy.maxRunning)
    throw new TooManyRunningError({ classId, username: viewer.username, maxRunning: policy.maxRunning });
  const schedules = await store.schedules.list(classId);
  if (currentSession(schedules, now)) return;
  const next = nextSession(schedules, now);
  const when = {
    nextSessionAt: next?.start ?? null,
    timezone: classTimeZone(schedules.filter((s) => s.id === next?.scheduleId)),
  };
  if (policy.maxRunningInClass !== null) {
    const vms = (await store.classes.assignmentsOfClass(classId)).filter((a) => a.role === 'student');
    const rows = await Promise.all(vms.map((v) => store.inventory.get(v.clusterId, v.vmid)));
    if (rows.filter((r) => r?.status === 'running').length >= policy.maxRunningInClass)
      throw new ClassRunningLimitError({ classId, maxRunningInClass: policy.maxRunningInClass, ...when });
  }
  if (policy.quotaHours === null || (usage.leftMs ?? 1) > 0) return;
  throw new QuotaExceededError({
    classId,
    username: viewer.username,
    quotaHours: (usage.quotaMs ?? 0) / HOUR,
    ...when,
  });
}

/** Whether a start of this VM by `viewer` is checked against a running limit of its class (`maxRunning`, `maxRunningInClass`). */
export async function hasRunningLimit(
  store: Store,
  viewer: Viewer,
  assignment: VmAssignmentRecord | undefined,
): Promise<boolean> {
  if (viewer.role !== 'student' || viewer.personId === null || !assignment?.classId || assignment.role !== 'student')
    return false;
  const policy = await store.usage.policy(assignment.classId);
  return policy != null && (policy.maxRunning !== null || policy.maxRunningInClass !== null);
}

/**
 * A duration for people: whole minutes under an hour (`12 min`, `under 1 min`), else hours to one decimal (`1.5 h`).
 */
export function formatHours(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return ms > 0 && minutes === 0 ? 'under 1 min' : `${minutes.toString()} min`;
  return `${(Math.round((ms / HOUR) * 10) / 10).toString()} h`;
}

import type { Viewer } from '../inventory/viewer.js';
import type { Clock } from '../ports/clock.js';
import type { ClassTermRecord } from '../store/class-term-repository.js';
import type { EpochMs, VmAssignmentRecord, VmInventoryRecord } from '../store/records.js';
import { RecordNotFoundError } from '../store/store-errors.js';
import type { Store } from '../store/store.js';
import { classTimeZone, formatLocalTime } from './local-time.js';
import { DEFAULT_GRACE_DAYS, graceEndsAt, parseEndDate, termPhase } from './term-dates.js';
import { ClassClosedError, ClassEndedError, ClassHasVmsError, TermNotOverError } from './term-errors.js';

/** What the end-of-term actions need. */
export interface ClassTermDeps {
  store: Store;
  clock: Clock;
  /** The lab-wide time zone, for a class without a schedule. @defaultValue UTC */
  timezone?: string;
  /** Grace days of a class that sets none. @defaultValue {@link DEFAULT_GRACE_DAYS} */
  defaultGraceDays?: number;
}

/** One VM of a class as the end of term destroys it: students' first, the teacher's next, base templates last. */
export type TermVm = VmInventoryRecord & { role: VmAssignmentRecord['role']; owner: string | null };

const ROLE_ORDER = { student: 0, teacher: 1, base: 2 } as const;

async function termOrNew(deps: ClassTermDeps, classId: string): Promise<ClassTermRecord> {
  const { store } = deps;
  if (!(await store.classes.getClass(classId))) throw new RecordNotFoundError('class', classId);
  return (
    (await store.classTerms.get(classId)) ?? {
      classId,
      endsOn: null,
      timezone: classTimeZone(await store.schedules.list(classId), deps.timezone),
      graceDays: deps.defaultGraceDays ?? DEFAULT_GRACE_DAYS,
      destroyConfirmedBy: null,
      destroyConfirmedAt: null,
      archivedAt: null,
    }
  );
}

/**
 * Sets (or, with `endsOn` null, clears) a class's last day, read in the class's time zone (its
 * oldest schedule's, else the lab's), and optionally its grace days. A new date forgets an earlier
 * destroy confirmation. Audited as `class.set-end`.
 */
export async function setClassEnd(
  deps: ClassTermDeps,
  request: { classId: string; endsOn: string | null; graceDays?: number; actor: string },
): Promise<ClassTermRecord> {
  const now = deps.clock.now();
  const current = await termOrNew(deps, request.classId);
  const timezone = classTimeZone(await deps.store.schedules.list(request.classId), deps.timezone);
  const endsOn = request.endsOn === null ? null : parseEndDate(request.endsOn, timezone, now);
  const next: ClassTermRecord = {
    ...current,
    endsOn,
    timezone,
    graceDays: request.graceDays ?? current.graceDays,
    ...(endsOn !== current.endsOn ? { destroyConfirmedBy: null, destroyConfirmedAt: null } : {}),
  };
  await deps.store.transaction(async (tx) => {
    await tx.classTerms.save(next);
    await tx.audit.record({
      at: now,
      actor: request.actor,
      action: 'class.set-end',
      target: request.classId,
      outcome: 'ok',
      details: { endsOn, timezone, graceDays: next.graceDays },
    });
  });
  return next;
}

/** The class's VMs that still exist, in the order the end of term destroys them. */
export async function termVms(store: Store, classId: string): Promise<TermVm[]> {
  const assignments = await store.classes.assignmentsOfClass(classId);
  const out: TermVm[] = [];
  for (const a of assignments) {
    const vm = await store.inventory.get(a.clusterId, a.vmid);
    if (!vm || vm.goneAt !== null) continue;
    const owner = a.personId === null ? undefined : await store.classes.getPerson(a.personId);
    out.push({ ...vm, role: a.role, owner: owner?.username ?? null });
  }
  return out.sort((x, y) => ROLE_ORDER[x.role] - ROLE_ORDER[y.role] || x.vmid - y.vmid);
}

/**
 * Refuses a student's start of a VM of a class whose term has ended (`ClassEndedError`). Teachers
 * and admins may still start one (to save a student's work).
 */
export async function assertClassOpen(
  store: Store,
  viewer: Viewer,
  assignment: VmAssignmentRecord | undefined,
  now: EpochMs,
): Promise<void> {
  if (viewer.role !== 'student' || !assignment?.classId) return;
  const term = await store.classTerms.get(assignment.classId);
  if (term?.endsOn && termPhase(term, now) !== 'running')
    throw new ClassEndedError({ classId: assignment.classId, endedOn: term.endsOn });
}

/**
 * Refuses a deployment for a class that is archived or whose term has ended (`ClassClosedError`):
 * the end of term would never stop such VMs, and nobody would destroy them.
 */
export async function assertClassDeployable(store: Store, classId: string, now: EpochMs): Promise<void> {
  const term = await store.classTerms.get(classId);
  if (!term) return;
  if (term.archivedAt !== null) throw new ClassClosedError({ classId, endedOn: term.endsOn, archived: true });
  if (term.endsOn && termPhase(term, now) !== 'running')
    throw new ClassClosedError({ classId, endedOn: term.endsOn, archived: false });
}

/** Why the class's VMs may not be destroyed yet, or undefined when they may. */
export function destroyRefusal(term: ClassTermRecord | undefined, now: EpochMs): string | undefined {
  if (!term?.endsOn) return 'the class has no end date (set one with class set-end)';
  const phase = termPhase(term, now);
  if (phase === 'running')
    return `the class runs until the end of ${term.endsOn}, and its VMs are kept ${term.graceDays} day(s) after that`;
  if (phase === 'ended')
    return `they are kept until ${formatLocalTime(graceEndsAt(term)!, term.timezone)}, ${term.graceDays} day(s) after the class ended on ${term.endsOn}`;
  return undefined;
}

/**
 * Records that `actor` confirmed destroying the class's VMs (its term and grace period are over,
 * else `TermNotOverError`); the `lab serve` holding the scheduler's lease destroys them in its next
 * round. Audited as `class.destroy-confirmed`. Returns the VMs that will go.
 */
export async function confirmTermDestroy(
  deps: ClassTermDeps,
  request: { classId: string; actor: string },
): Promise<{ term: ClassTermRecord; vms: TermVm[] }> {
  const now = deps.clock.now();
  const term = await termOrNew(deps, request.classId);
  const refusal = destroyRefusal(term, now);
  if (refusal) throw new TermNotOverError({ classId: request.classId, reason: refusal });
  const vms = await termVms(deps.store, request.classId);
  const confirmed = { ...term, destroyConfirmedBy: request.actor, destroyConfirmedAt: now };
  await deps.store.transaction(async (tx) => {
    await tx.classTerms.save(confirmed);
    await tx.audit.record({
      at: now,
      actor: request.actor,
      action: 'class.destroy-confirmed',
      target: request.classId,
      outcome: 'ok',
      details: { vms: vms.map((v) => `${v.clusterId}/${v.vmid}`) },
    });
  });
  return { term: confirmed, vms };
}

/** What to do before a class with VMs can be archived. */
function archiveNext(term: ClassTermRecord, now: EpochMs): string {
  const id = term.classId;
  if (!term.endsOn)
    return `set its end date first (class set-end ${id} <YYYY-MM-DD>); its VMs can be destroyed with class destroy-vms ${id} once its grace period is over`;
  if (termPhase(term, now) !== 'grace-over')
    return `they can be destroyed with class destroy-vms ${id} from ${formatLocalTime(graceEndsAt(term)!, term.timezone)}`;
  if (term.destroyConfirmedBy)
    return `${term.destroyConfirmedBy} confirmed destroying them and lab serve is doing it; wait until it has finished`;
  return `run class destroy-vms ${id} to destroy them`;
}

/**
 * Marks a class archived: its roster, usage ledger and audit entries stay (and export as before),
 * it leaves the active lists. Refused while it has VMs (`ClassHasVmsError`, saying what to run).
 * Audited as `class.archive`.
 */
export async function archiveClass(
  deps: ClassTermDeps,
  request: { classId: string; actor: string },
): Promise<ClassTermRecord> {
  const now = deps.clock.now();
  const term = await termOrNew(deps, request.classId);
  const vms = await termVms(deps.store, request.classId);
  if (vms.length) {
    throw new ClassHasVmsError({ classId: request.classId, vms: vms.map((v) => v.name), next: archiveNext(term, now) });
  }
  if (term.archivedAt !== null) return term;
  const archived = { ...term, archivedAt: now };
  await deps.store.transaction(async (tx) => {
    await tx.classTerms.save(archived);
    await tx.audit.record({
      at: now,
      actor: request.actor,
      action: 'class.archive',
      target: request.classId,
      outcome: 'ok',
      details: {},
    });
  });
  return archived;
}

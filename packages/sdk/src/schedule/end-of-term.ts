import type { VmPower } from './vm-power.js';
import type { Viewer } from '../inventory/viewer.js';
import type { Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Logger } from '../ports/logger.js';
import type { PersonNotifier } from '../ports/person-notifier.js';
import type { ClassTermRecord } from '../store/class-term-repository.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { termVms } from './class-term.js';
import { formatLocalTime } from './local-time.js';
import { graceEndsAt, TERM_REMINDER_DAYS, termEndsAt, termPhase } from './term-dates.js';
import { forgetClassTemplates } from '../deploy/deployment-teardown.js';
import { teardownLabNetworks, type ClassNetworksOf } from '../deploy/lab-networks.js';
import { destroyTermVm, type TermDestroyOutcome } from './term-destroy.js';
import { tellTeachers } from './tell-teachers.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** How long once-markers of a term are kept: well past any grace period. */
const MARKER_TTL_MS = 400 * DAY_MS;
/** The reason the end of term's stops and destroys are audited with. */
export const END_OF_TERM_REASON = 'end of term';

/** What the end-of-term round needs; it runs in the class scheduler's round, under its lease. */
export interface EndOfTermDeps {
  store: Store;
  clusters: ClusterApis;
  clock: Clock;
  logger: Logger;
  notifier: PersonNotifier;
  power: VmPower;
  /** Who acts: the scheduler. */
  actor: Viewer;
  holderId: string;
  shutdownTimeoutS: number;
  pollIntervalMs: number;
  /** Each cluster's class networks: removed after the class's VMs are destroyed. */
  networks?: ClassNetworksOf;
}

/** One thing the end-of-term round did (or tried). */
export interface EndOfTermAction {
  classId: string;
  action:
    | 'term-reminder'
    | 'term-shutdown'
    | 'term-destroy-reminder'
    | 'term-destroy'
    | 'term-networks-removed'
    | 'term-destroyed-notice';
  /** The VM acted on (stops and destroys). */
  target?: string;
  outcome: 'ok' | 'failed' | TermDestroyOutcome;
  /** Teachers who got the message (reminders and notices). */
  teachersTold?: number;
  error?: string;
}

/**
 * The end of term, for every class with an end date that is not archived: reminds its teachers 14,
 * 3 and 1 days before the end (each once: a store marker is claimed before it is sent; a scheduler
 * that was down sends only the nearest one due); at the end shuts its student VMs down once (audited
 * with the reason `end of term`); after the grace period reminds its teachers weekly to confirm the
 * destroy (`class destroy-vms`) and, once confirmed, destroys the class's VMs one at a time
 * (`destroyTermVm`: once across processes and crashes), then tells the teachers once.
 */
export async function runEndOfTerm(deps: EndOfTermDeps, now: EpochMs): Promise<EndOfTermAction[]> {
  const out: EndOfTermAction[] = [];
  for (const term of await deps.store.classTerms.list()) {
    if (term.endsOn === null || term.archivedAt !== null) continue;
    try {
      const phase = termPhase(term, now);
      if (phase === 'running') out.push(...(await remind(deps, term, now)));
      else {
        out.push(...(await stopStudentVms(deps, term, now)));
        if (phase === 'grace-over') out.push(...(await afterGrace(deps, term, now)));
      }
    } catch (error) {
      deps.logger.warn('end-of-term round failed for a class; trying again next round', {
        classId: term.classId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return out;
}

/** Claims a once-marker: true for the one caller that got it. */
function once(deps: EndOfTermDeps, key: string, now: EpochMs): Promise<boolean> {
  return deps.store.nonces.claim(key, now + MARKER_TTL_MS, now);
}

async function remind(deps: EndOfTermDeps, term: ClassTermRecord, now: EpochMs): Promise<EndOfTermAction[]> {
  const end = termEndsAt(term)!;
  const due = TERM_REMINDER_DAYS.filter((d) => now >= end - d * DAY_MS).sort((a, b) => a - b);
  if (!due.length) return [];
  const claimed = [];
  for (const d of due) claimed.push(await once(deps, `term-reminder:${term.classId}:${term.endsOn}:${d}`, now));
  if (!claimed[0]) return [];
  const days = Math.max(1, Math.ceil((end - now) / DAY_MS));
  const teachersTold = await tellTeachers(
    deps.store,
    deps.notifier,
    term.classId,
    `${term.classId} ends on ${term.endsOn}, in ${days} day(s) (${formatLocalTime(end, term.timezone)}): its student VMs stop then and students can no longer start them. ${term.graceDays} day(s) later its VMs can be destroyed once you confirm it (class destroy-vms ${term.classId}). To move the date: class set-end ${term.classId} <YYYY-MM-DD>.`,
  );
  return [{ classId: term.classId, action: 'term-reminder', outcome: 'ok', teachersTold }];
}

async function stopStudentVms(deps: EndOfTermDeps, term: ClassTermRecord, now: EpochMs): Promise<EndOfTermAction[]> {
  const marker = `term-stopped:${term.classId}:${term.endsOn}`;
  if ((await deps.store.nonces.peek(marker, now)) !== undefined) return [];
  const out: EndOfTermAction[] = [];
  const students = (await termVms(deps.store, term.classId)).filter((v) => v.role === 'student');
  for (const vm of students.filter((v) => v.status === 'running')) {
    const target = `${vm.clusterId}/${vm.vmid}`;
    try {
      await deps.power.perform(deps.actor, vm.clusterId, vm.vmid, 'shutdown', {
        shutdownTimeoutS: deps.shutdownTimeoutS,
        reason: END_OF_TERM_REASON,
      });
      out.push({ classId: term.classId, action: 'term-shutdown', target, outcome: 'ok' });
    } catch (error) {
      out.push({
        classId: term.classId,
        action: 'term-shutdown',
        target,
        outcome: 'failed',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  // Once every student VM is down, the class's end is done: a teacher may start one again later.
  if (!out.some((a) => a.outcome === 'failed'))
    await deps.store.nonces.put(marker, { at: now }, now + MARKER_TTL_MS, now);
  return out;
}

async function afterGrace(deps: EndOfTermDeps, term: ClassTermRecord, now: EpochMs): Promise<EndOfTermAction[]> {
  const vms = await termVms(deps.store, term.classId);
  if (!term.destroyConfirmedBy) {
    if (!vms.length) return [];
    const week = Math.floor((now - graceEndsAt(term)!) / WEEK_MS);
    if (!(await once(deps, `term-destroy-reminder:${term.classId}:${term.endsOn}:${week}`, now))) return [];
    const teachersTold = await tellTeachers(
      deps.store,
      deps.notifier,
      term.classId,
      `${term.classId} ended on ${term.endsOn} and its ${term.graceDays}-day grace period is over. Its ${vms.length} VM(s) are kept until you (or an admin) confirm destroying them: class destroy-vms ${term.classId}. Then class archive ${term.classId} keeps its roster, usage and audit log. You are reminded weekly until then.`,
    );
    return [{ classId: term.classId, action: 'term-destroy-reminder', outcome: 'ok', teachersTold }];
  }
  const out: EndOfTermAction[] = [];
  const reason = `${END_OF_TERM_REASON}: ${term.classId} ended on ${term.endsOn}; destroy confirmed by ${term.destroyConfirmedBy}`;
  for (const vm of vms) {
    const outcome = await destroyTermVm(deps, term.classId, vm, reason);
    out.push({ classId: term.classId, action: 'term-destroy', target: `${vm.clusterId}/${vm.vmid}`, outcome });
    // Base templates go last, after every clone of them: stop at the first VM still on its way out.
    if (outcome === 'failed' || outcome === 'in-progress') break;
  }
  const left = (await termVms(deps.store, term.classId)).length;
  // The class's networks go once no VM is on them; a failure is tried again next round (it finds no VM and none recorded).
  if (left === 0) out.push(...(await removeTermNetworks(deps, term.classId)));
  if (left === 0 && vms.length > 0) {
    await forgetClassTemplates(deps.store, term.classId, deps.clusters.ids(), now);
    if (await once(deps, `term-destroyed:${term.classId}:${term.endsOn}`, now)) {
      const teachersTold = await tellTeachers(
        deps.store,
        deps.notifier,
        term.classId,
        `The VMs of ${term.classId} are destroyed (confirmed by ${term.destroyConfirmedBy}). class archive ${term.classId} keeps its roster, usage and audit log and hides it from the active lists.`,
      );
      out.push({ classId: term.classId, action: 'term-destroyed-notice', outcome: 'ok', teachersTold });
    }
  }
  return out;
}

async function removeTermNetworks(deps: EndOfTermDeps, classId: string): Promise<EndOfTermAction[]> {
  try {
    const { removed } = await teardownLabNetworks(deps, classId, deps.clusters.ids());
    return removed.length
      ? [{ classId, action: 'term-networks-removed', target: removed.join(','), outcome: 'ok' }]
      : [];
  } catch (error) {
    return [
      {
        classId,
        action: 'term-networks-removed',
        outcome: 'failed',
        error: error instanceof Error ? error.message : String(error),
      },
    ];
  }
}

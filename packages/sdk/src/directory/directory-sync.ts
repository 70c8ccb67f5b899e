import { isLabError } from '../errors/lab-error.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DirectoryUnenrolThresholdError } from './directory-errors.js';
import { cleanDirectoryPerson, type CleanDirectoryPerson } from './directory-person.js';
import type { DirectoryRead, DirectorySource } from './directory-source.js';
import {
  applyEnrolmentPlans,
  loadRosterView,
  planPersonEnrolment,
  type EnrolmentChange,
  type PersonEnrolmentPlan,
  type RosterView,
} from './group-enrolment.js';
import type { GroupMapping } from './group-mapping.js';

/** The audit actor of everything the directory does. */
export const DIRECTORY_ACTOR = 'directory';
/** The audit action of each sync's outcome, which `directoryStatus` reads. */
export const DIRECTORY_SYNC_ACTION = 'directory.sync';
const MAX_LISTED_CHANGES = 2000;

/** How many changes of each kind. */
export interface DirectoryChangeCounts {
  created: number;
  updated: number;
  roles: number;
  enrolled: number;
  unenrolled: number;
}

/** What a directory sync found and did. */
export interface DirectorySyncReport {
  mode: 'dry-run' | 'apply';
  /** `ok`: read, planned (and applied unless a dry run). */
  outcome: 'ok';
  startedAt: EpochMs;
  finishedAt: EpochMs;
  /** People the user search returned, entries it skipped, how nesting was resolved. */
  read: { people: number; skipped: number; nesting: DirectoryRead['nesting'] };
  counts: DirectoryChangeCounts;
  /** Every person with something to change. */
  plans: PersonEnrolmentPlan[];
  /** Entries that could not be used (no or a bad username, a username twice). */
  problems: string[];
  /** What was left alone and why (a teacher in a student group, a class that does not exist). */
  notes: string[];
  applied: boolean;
  /**
   * Set on a dry run whose unenrolments pass `maxUnenrolShare`: why a sync without `--dry-run` would
   * stop (it needs `confirmUnenrol`).
   */
  unenrolStop?: string;
}

/** Dependencies of {@link runDirectorySync}. */
export interface DirectorySyncDeps {
  store: Store;
  source: DirectorySource;
  mapping: GroupMapping;
  clock?: Clock;
  logger?: Logger;
  /** A sync that would unenrol more than this share of some class's students stops. @defaultValue 0.2 */
  maxUnenrolShare?: number;
}

/**
 * One sync: reads the directory (all of it, or nothing changes), works out every person's changes
 * under the group mapping's rules, audits the diff (`directory.diff`), stops with
 * `DirectoryUnenrolThresholdError` when some class would lose more than `maxUnenrolShare` of its
 * students (unless `confirmUnenrol`), and otherwise — unless `dryRun` — applies everything in one
 * transaction, each change audited as `directory`. People the directory no longer lists are
 * unenrolled from the classes it keeps, never deleted. Each run ends with a `directory.sync` audit
 * entry (outcome, counts, error code), failures included.
 */
export async function runDirectorySync(
  deps: DirectorySyncDeps,
  options: { dryRun?: boolean; confirmUnenrol?: boolean } = {},
): Promise<DirectorySyncReport> {
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ component: 'directory' });
  const mode = options.dryRun ? 'dry-run' : 'apply';
  const startedAt = clock.now();
  const finish = (outcome: 'ok' | 'denied' | 'failed', details: Record<string, unknown>) =>
    deps.store.audit.record({
      at: clock.now(),
      actor: DIRECTORY_ACTOR,
      action: DIRECTORY_SYNC_ACTION,
      target: deps.source.description,
      outcome,
      details: { mode, startedAt, ...details },
    });
  try {
    const read = await deps.source.read(deps.mapping.groups);
    const { people, problems } = cleanAll(read);
    const planned = plan(await loadRosterView(deps.store), deps.mapping, people);
    const counts = countChanges(planned.plans);
    const readFacts = { people: read.people.length, skipped: read.skipped.length, nesting: read.nesting };
    await deps.store.audit.record({
      at: clock.now(),
      actor: DIRECTORY_ACTOR,
      action: 'directory.diff',
      target: deps.source.description,
      outcome: 'ok',
      details: { mode, read: readFacts, counts, problems: problems.length, changes: listChanges(planned.plans) },
    });
    const over = await overThreshold(deps.store, planned.plans, deps.maxUnenrolShare ?? 0.2);
    const stop =
      over.length && !options.confirmUnenrol
        ? new DirectoryUnenrolThresholdError({ classes: over, maxShare: deps.maxUnenrolShare ?? 0.2 })
        : undefined;
    // A dry run still lists everything, so the admin can judge the unenrolments it would stop at.
    if (stop && !options.dryRun) throw stop;
    let applied = false;
    if (!options.dryRun && planned.plans.length) {
      await deps.store.transaction(async (tx) => {
        // Planned again inside the transaction, so what is written matches the store as it is now.
        const fresh = plan(await loadRosterView(tx), deps.mapping, people);
        await applyEnrolmentPlans(tx, fresh.plans, { at: clock.now(), actor: DIRECTORY_ACTOR, source: 'ldap' });
      });
      applied = true;
    }
    const report: DirectorySyncReport = {
      mode,
      outcome: 'ok',
      startedAt,
      finishedAt: clock.now(),
      read: readFacts,
      counts,
      plans: planned.plans,
      problems,
      notes: planned.notes,
      applied,
      ...(stop ? { unenrolStop: stop.message } : {}),
    };
    await finish('ok', { read: readFacts, counts, problems: problems.length, applied });
    logger.info('directory sync finished', { mode, ...counts, people: read.people.length });
    return report;
  } catch (error) {
    const code = isLabError(error) ? error.code : 'LAB_UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    await finish(error instanceof DirectoryUnenrolThresholdError ? 'denied' : 'failed', {
      error: { code, message },
    }).catch((auditError: unknown) => logger.error('could not audit a failed directory sync', { error: auditError }));
    logger.warn('directory sync did not change anything', { mode, code, message });
    throw error;
  }
}

function cleanAll(read: DirectoryRead): { people: CleanDirectoryPerson[]; problems: string[] } {
  const problems = read.skipped.map((s) => `${s.dn}: ${s.reason}`);
  const people: CleanDirectoryPerson[] = [];
  const seen = new Set<string>();
  for (const raw of read.people) {
    const clean = cleanDirectoryPerson(raw);
    if ('problem' in clean) {
      problems.push(clean.problem);
      continue;
    }
    if (seen.has(clean.username)) {
      problems.push(`username ${clean.username} is given to two directory entries; the second is left out`);
      continue;
    }
    seen.add(clean.username);
    people.push(clean);
  }
  return { people, problems };
}

/** Plans for everyone the directory lists, and for lab students of kept classes it no longer lists. */
function plan(
  view: RosterView,
  mapping: GroupMapping,
  people: readonly CleanDirectoryPerson[],
): { plans: PersonEnrolmentPlan[]; notes: string[] } {
  const plans: PersonEnrolmentPlan[] = [];
  const notes: string[] = [];
  const listed = new Set(people.map((p) => p.username));
  for (const person of people) {
    const p = planPersonEnrolment(view, mapping, person);
    if (p.changes.length) plans.push(p);
    notes.push(...p.notes.map((n) => `${p.username}: ${n}`));
  }
  for (const username of view.usernames())
    if (!listed.has(username)) {
      const p = planPersonEnrolment(view, mapping, {
        username,
        displayName: undefined,
        email: undefined,
        groups: [],
        notes: [],
      });
      if (p.changes.length) plans.push(p);
    }
  return { plans, notes };
}

function countChanges(plans: readonly PersonEnrolmentPlan[]): DirectoryChangeCounts {
  const counts: DirectoryChangeCounts = { created: 0, updated: 0, roles: 0, enrolled: 0, unenrolled: 0 };
  const key: Record<EnrolmentChange['type'], keyof DirectoryChangeCounts> = {
    'create-person': 'created',
    'update-person': 'updated',
    'raise-role': 'roles',
    enrol: 'enrolled',
    unenrol: 'unenrolled',
  };
  for (const p of plans) for (const c of p.changes) counts[key[c.type]]++;
  return counts;
}

function listChanges(plans: readonly PersonEnrolmentPlan[]): EnrolmentChange[] {
  return plans.flatMap((p) => p.changes).slice(0, MAX_LISTED_CHANGES);
}

async function overThreshold(
  store: Store,
  plans: readonly PersonEnrolmentPlan[],
  maxShare: number,
): Promise<Array<{ classId: string; unenrol: number; students: number }>> {
  const byClass = new Map<string, number>();
  for (const p of plans)
    for (const c of p.changes) if (c.type === 'unenrol') byClass.set(c.classId, (byClass.get(c.classId) ?? 0) + 1);
  const over: Array<{ classId: string; unenrol: number; students: number }> = [];
  for (const [classId, unenrol] of byClass) {
    const students = (await store.classes.members(classId)).filter((m) => m.role === 'student').length;
    if (students > 0 && unenrol / students > maxShare) over.push({ classId, unenrol, students });
  }
  return over.sort((a, b) => a.classId.localeCompare(b.classId));
}

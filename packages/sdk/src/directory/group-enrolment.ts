import { systemClock, type Clock } from '../ports/clock.js';
import { unenrolStudent, type FreedSeat } from '../people/unenrol-student.js';
import type { ClassMemberRecord, EpochMs, PersonRecord, PersonRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DirectoryPersonInvalidError } from './directory-errors.js';
import { cleanDirectoryPerson, type CleanDirectoryPerson, type DirectoryPersonInput } from './directory-person.js';
import type { GroupMapping } from './group-mapping.js';

/** One change the directory makes to the lab. */
export type EnrolmentChange =
  | { type: 'create-person'; username: string; displayName: string; email: string | null; role: PersonRole }
  | { type: 'update-person'; username: string; displayName?: string; email?: string | null }
  | { type: 'raise-role'; username: string; from: PersonRole; to: PersonRole }
  | { type: 'enrol'; username: string; classId: string; role: 'student' | 'teacher' }
  | { type: 'unenrol'; username: string; classId: string };

/** What the directory changes for one person; `notes` say what it left alone and why. */
export interface PersonEnrolmentPlan {
  username: string;
  changes: EnrolmentChange[];
  notes: string[];
}

/** What the lab knows that planning needs: people by username, memberships, classes. */
export interface RosterView {
  person(username: string): PersonRecord | undefined;
  /** Everyone's username. */
  usernames(): Iterable<string>;
  memberships(personId: number): readonly ClassMemberRecord[];
  classExists(classId: string): boolean;
}

/** The whole roster in memory (a sync reads it once). */
export async function loadRosterView(store: Store): Promise<RosterView> {
  const people = new Map((await store.classes.listPeople()).map((p) => [p.username, p]));
  const classes = await store.classes.listClasses();
  const byPerson = new Map<number, ClassMemberRecord[]>();
  for (const c of classes)
    for (const m of await store.classes.members(c.id))
      byPerson.set(m.personId, [...(byPerson.get(m.personId) ?? []), m]);
  const ids = new Set(classes.map((c) => c.id));
  return {
    person: (u) => people.get(u),
    usernames: () => people.keys(),
    memberships: (id) => byPerson.get(id) ?? [],
    classExists: (id) => ids.has(id),
  };
}

/** The roster as one person's sign-in needs it. */
async function personRosterView(store: Store, username: string, mapping: GroupMapping): Promise<RosterView> {
  const person = await store.classes.getPersonByUsername(username);
  const memberships = person ? await store.classes.classesOf(person.id) : [];
  const existing = new Set<string>();
  for (const id of mapping.mappedClasses) if (await store.classes.getClass(id)) existing.add(id);
  return {
    person: (u) => (u === username ? person : undefined),
    usernames: () => (person ? [username] : []),
    memberships: () => memberships,
    classExists: (id) => existing.has(id),
  };
}

const RANK: Record<PersonRole, number> = { student: 1, teacher: 2, admin: 3 };

/**
 * The rules every directory source shares (LDAP sync, OpenID Connect sign-in). From the person's
 * groups: a new person is created when some group grants them something (admin, else teacher, else
 * student); the name and email follow the directory; the role is raised to what the groups grant,
 * never lowered; they are enrolled in every class a group grants (a student grant is skipped for a
 * teacher or admin, who teach instead); and a student is unenrolled from every class the directory
 * keeps (some group grants it as student) when no group of theirs grants it any more. Teachers are
 * never unenrolled and nobody is ever deleted. Classes that do not exist are noted, not created.
 */
export function planPersonEnrolment(
  view: RosterView,
  mapping: GroupMapping,
  person: CleanDirectoryPerson,
): PersonEnrolmentPlan {
  const changes: EnrolmentChange[] = [];
  const notes = [...person.notes];
  const grants = mapping.grantsFor(person.groups);
  const existing = view.person(person.username);
  if (!existing && grants.length === 0) return { username: person.username, changes, notes };
  const granted: PersonRole = grants.some((g) => g.kind === 'admin')
    ? 'admin'
    : grants.some((g) => g.kind === 'class' && g.role === 'teacher')
      ? 'teacher'
      : 'student';
  let role: PersonRole;
  if (!existing) {
    role = granted;
    changes.push({
      type: 'create-person',
      username: person.username,
      displayName: person.displayName ?? person.username,
      email: person.email ?? null,
      role,
    });
  } else {
    role = existing.role;
    const update: { displayName?: string; email?: string | null } = {};
    if (person.displayName !== undefined && person.displayName !== existing.displayName)
      update.displayName = person.displayName;
    if (person.email !== undefined && person.email !== existing.email) update.email = person.email;
    if (Object.keys(update).length) changes.push({ type: 'update-person', username: person.username, ...update });
    if (grants.length && RANK[granted] > RANK[role]) {
      changes.push({ type: 'raise-role', username: person.username, from: role, to: granted });
      role = granted;
    }
  }
  const memberships = existing ? view.memberships(existing.id) : [];
  const memberOf = new Map(memberships.map((m) => [m.classId, m.role]));
  const studentOf = new Set<string>();
  for (const g of grants) {
    if (g.kind !== 'class') continue;
    if (!view.classExists(g.classId)) {
      notes.push(`class ${g.classId} does not exist; create it with class create`);
      continue;
    }
    if (g.role === 'student') {
      studentOf.add(g.classId);
      if (role !== 'student') {
        if (!memberOf.has(g.classId))
          notes.push(`is ${role === 'admin' ? 'an admin' : 'a teacher'}, so not enrolled as a student of ${g.classId}`);
        continue;
      }
      if (!memberOf.has(g.classId))
        changes.push({ type: 'enrol', username: person.username, classId: g.classId, role: 'student' });
    } else if (memberOf.get(g.classId) !== 'teacher') {
      changes.push({ type: 'enrol', username: person.username, classId: g.classId, role: 'teacher' });
    }
  }
  const teaching = new Set(grants.flatMap((g) => (g.kind === 'class' && g.role === 'teacher' ? [g.classId] : [])));
  for (const m of memberships)
    if (
      m.role === 'student' &&
      mapping.managedClasses.has(m.classId) &&
      !studentOf.has(m.classId) &&
      !teaching.has(m.classId)
    )
      changes.push({ type: 'unenrol', username: person.username, classId: m.classId });
  return { username: person.username, changes, notes };
}

/** One applied change, as audited. */
export interface AppliedChange {
  change: EnrolmentChange;
  /** For `unenrol`: the VMs that became free seats. */
  freed?: FreedSeat[];
}

/**
 * Writes `plans` to `tx` (run it inside a transaction) and audits every change as `actor`
 * (`directory.person.create`, `directory.person.update`, `directory.role`, `directory.enrol`,
 * `directory.unenrol`, with `source` in the details).
 */
export async function applyEnrolmentPlans(
  tx: Store,
  plans: readonly PersonEnrolmentPlan[],
  context: { at: EpochMs; actor: string; source: string },
): Promise<AppliedChange[]> {
  const applied: AppliedChange[] = [];
  const audit = (action: string, target: string, details: Record<string, unknown>) =>
    tx.audit.record({
      at: context.at,
      actor: context.actor,
      action,
      target,
      outcome: 'ok',
      details: { source: context.source, ...details },
    });
  for (const plan of plans) {
    let person = await tx.classes.getPersonByUsername(plan.username);
    for (const change of plan.changes) {
      switch (change.type) {
        case 'create-person':
          person = await tx.classes.createPerson(
            { username: change.username, displayName: change.displayName, email: change.email, role: change.role },
            context.at,
          );
          await audit('directory.person.create', change.username, {
            displayName: change.displayName,
            email: change.email,
            role: change.role,
          });
          applied.push({ change });
          break;
        case 'update-person':
          person = await tx.classes.updatePerson(mustHave(person, change.username).id, {
            ...(change.displayName !== undefined ? { displayName: change.displayName } : {}),
            ...(change.email !== undefined ? { email: change.email } : {}),
          });
          await audit('directory.person.update', change.username, {
            ...(change.displayName !== undefined ? { displayName: change.displayName } : {}),
            ...(change.email !== undefined ? { email: change.email } : {}),
          });
          applied.push({ change });
          break;
        case 'raise-role':
          person = await tx.classes.updatePerson(mustHave(person, change.username).id, { role: change.to });
          await audit('directory.role', change.username, { from: change.from, to: change.to });
          applied.push({ change });
          break;
        case 'enrol':
          await tx.classes.addMember({
            classId: change.classId,
            personId: mustHave(person, change.username).id,
            role: change.role,
          });
          await audit('directory.enrol', `class ${change.classId}`, { username: change.username, role: change.role });
          applied.push({ change });
          break;
        case 'unenrol': {
          const { freed } = await unenrolStudent(tx, {
            classId: change.classId,
            personId: mustHave(person, change.username).id,
            at: context.at,
          });
          await audit('directory.unenrol', `class ${change.classId}`, {
            username: change.username,
            freedVms: freed.map((f) => ({ clusterId: f.clusterId, vmid: f.vmid, name: f.name })),
          });
          applied.push({ change, freed });
          break;
        }
      }
    }
  }
  return applied;
}

function mustHave(person: PersonRecord | undefined, username: string): PersonRecord {
  if (!person) throw new Error(`directory plan for ${username} changes a person who does not exist`);
  return person;
}

/** What {@link enrolFromGroups} did (or, with `apply: false`, would do). */
export interface GroupEnrolmentResult {
  username: string;
  /** The lab person after the changes; undefined when none exists (no group grants them anything). */
  person: PersonRecord | undefined;
  changes: EnrolmentChange[];
  notes: string[];
  applied: boolean;
}

/**
 * Applies a person's directory groups to the lab at once — what the web portal calls at every
 * OpenID Connect sign-in with the `groups` claim (and the LDAP sync does for each person under its
 * unenrol threshold). Same rules as {@link planPersonEnrolment}; everything is written in one
 * transaction and audited as `actor` (default `directory`). A username that cannot be a lab
 * username is refused with `DirectoryPersonInvalidError` and nothing changes.
 */
export async function enrolFromGroups(
  deps: { store: Store; clock?: Clock },
  mapping: GroupMapping,
  input: DirectoryPersonInput,
  options: { apply?: boolean; actor?: string; source?: string } = {},
): Promise<GroupEnrolmentResult> {
  const clean = cleanDirectoryPerson(input);
  if ('problem' in clean) throw new DirectoryPersonInvalidError(clean.problem);
  const clock = deps.clock ?? systemClock;
  const run = async (tx: Store): Promise<GroupEnrolmentResult> => {
    const plan = planPersonEnrolment(await personRosterView(tx, clean.username, mapping), mapping, clean);
    if (options.apply !== false && plan.changes.length)
      await applyEnrolmentPlans(tx, [plan], {
        at: clock.now(),
        actor: options.actor ?? 'directory',
        source: options.source ?? 'oidc',
      });
    return {
      username: clean.username,
      person: await tx.classes.getPersonByUsername(clean.username),
      changes: plan.changes,
      notes: plan.notes,
      applied: options.apply !== false,
    };
  };
  return options.apply === false ? run(deps.store) : deps.store.transaction(run);
}

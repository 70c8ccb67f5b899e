import { CsvError, parse } from 'csv-parse/sync';
import { systemClock, type Clock } from '../ports/clock.js';
import type { PersonRecord, PersonRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { USERNAME, builtinIdentityFormats, type IdentityFormat } from './chat-accounts.js';
import { cleanDisplayName, InvalidDisplayNameError } from './display-name.js';
import { restoreFormula } from './csv-formula.js';

/** The columns a roster has with the built-in identity formats; see {@link rosterColumns} for registered ones. */
export const ROSTER_COLUMNS = ['username', 'name', 'email', 'role', 'class', 'slack', 'discord'] as const;

/**
 * Columns other exports add (`lab usage <class> --csv`) that an import accepts and ignores, so
 * such a file reads back as a roster.
 */
export const ROSTER_IGNORED_COLUMNS = [
  'hours_used',
  'hours_left',
  'running_vms',
  'top_up_hours',
  'hours_total',
  'cost',
  'currency',
] as const;

const PERSON_COLUMNS = ['username', 'name', 'email', 'role', 'class'] as const;

/** The identity formats that have a roster column: the linkable ones. */
function accountColumns(formats: readonly IdentityFormat[]): IdentityFormat[] {
  return formats.filter((f) => f.linkable !== false);
}

/**
 * The columns a roster may have, in any order (only `username` is required): the person's, then one
 * per identity format (`slack`, `discord`, and any registered front end's, e.g. `mattermost`).
 */
export function rosterColumns(formats: readonly IdentityFormat[] = builtinIdentityFormats()): string[] {
  return [...PERSON_COLUMNS, ...accountColumns(formats).map((f) => f.platform)];
}

/** One data row of a roster file, with the line it starts on. */
export interface RosterRow {
  line: number;
  username: string;
  name?: string;
  email?: string;
  role?: string;
  /** Class ids, `;`-separated in the file. */
  classes: string[];
  /** Account ids by platform (the identity columns that are not empty), as written in the file. */
  accounts: Record<string, string>;
}

/** A row (or the file) that cannot be imported, and why. */
export interface RosterProblem {
  line: number;
  message: string;
}

/** What importing one row changes; `changes` is empty when the store already matches it. */
export interface RosterRowPlan {
  line: number;
  username: string;
  changes: string[];
}

/** The outcome of a roster import, dry run or applied. */
export interface RosterImportReport {
  rows: number;
  problems: RosterProblem[];
  plans: RosterRowPlan[];
  /** How many rows change something. */
  changed: number;
  /** True only when the changes were written (never when there was a problem). */
  applied: boolean;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const ROLES: readonly PersonRole[] = ['student', 'teacher', 'admin'];

/**
 * Reads a roster CSV: a header row naming some of `rosterColumns(formats)` (any order, any case), then one
 * person per row. Empty lines are skipped; quotes follow RFC 4180 (`"Smith, ""Al"""`). A malformed
 * file yields one problem at the line where it breaks; a name is cleaned (`cleanDisplayName`), and a
 * row whose name cannot be is a problem at its line.
 */
export function parseRosterCsv(
  text: string,
  formats: readonly IdentityFormat[] = builtinIdentityFormats(),
): { rows: RosterRow[]; problems: RosterProblem[] } {
  const known = rosterColumns(formats);
  let records: Array<{ record: string[]; info: { lines: number }; raw: string }>;
  try {
    records = parse(text, {
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (error) {
    if (error instanceof CsvError) {
      // The parser stops where it gives up; a row whose quote never closed began lines earlier.
      const { lines: end = 1, raw = '' } = error as CsvError & { lines?: number; raw?: string };
      const spanned = raw.replace(/\r?\n$/, '').split('\n').length - 1;
      const line = Math.max(1, end - spanned);
      const runsOn =
        line < end ? ` (the row starting on this line runs on to line ${end}: is a quote not closed?)` : '';
      return {
        rows: [],
        problems: [
          {
            line,
            message: `malformed CSV${runsOn}: ${error.message.replace(/ at line \d+/, '')}; a quote inside a quoted field is written twice ("")`,
          },
        ],
      };
    }
    throw error;
  }
  for (const r of records) r.record = r.record.map(restoreFormula);
  const [header, ...data] = records;
  if (!header)
    return {
      rows: [],
      problems: [{ line: 1, message: `the file is empty; the first line names the columns (${known.join(',')})` }],
    };
  const columns = header.record.map((c) => c.toLowerCase());
  const problems: RosterProblem[] = [];
  const unknown = columns.filter(
    (c) => !known.includes(c) && !(ROSTER_IGNORED_COLUMNS as readonly string[]).includes(c),
  );
  if (unknown.length)
    problems.push({
      line: header.info.lines,
      message: `unknown column(s) ${unknown.map((c) => `'${c}'`).join(', ')}; columns are ${known.join(', ')}`,
    });
  if (!columns.includes('username'))
    problems.push({ line: header.info.lines, message: "the header has no 'username' column" });
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup) problems.push({ line: header.info.lines, message: `column '${dup}' appears twice` });
  if (problems.length) return { rows: [], problems };
  const rows: RosterRow[] = [];
  for (const { record, info, raw } of data) {
    // `info.lines` is where a record ends; a quoted field may span lines, so count back to its start.
    const line =
      info.lines -
      (raw
        .replace(/^[\r\n]+/, '')
        .replace(/\r?\n$/, '')
        .match(/\n/g)?.length ?? 0);
    if (record.length > columns.length) {
      problems.push({
        line,
        message: `${record.length} fields but the header has ${columns.length}; quote fields that contain commas`,
      });
      continue;
    }
    const get = (c: string): string | undefined => {
      const v = record[columns.indexOf(c)];
      return v === undefined || v === '' ? undefined : v;
    };
    let name: string | undefined;
    try {
      name = get('name') === undefined ? undefined : cleanDisplayName(get('name')!);
    } catch (error) {
      if (!(error instanceof InvalidDisplayNameError)) throw error;
      problems.push({ line, message: `name: ${error.message}` });
      continue;
    }
    rows.push({
      line,
      username: get('username') ?? '',
      ...(name !== undefined ? { name } : {}),
      ...(get('email') ? { email: get('email')! } : {}),
      ...(get('role') ? { role: get('role')!.toLowerCase() } : {}),
      classes: (get('class') ?? '').split(/[;\s]+/).filter(Boolean),
      accounts: Object.fromEntries(
        accountColumns(formats).flatMap((f) => {
          const id = get(f.platform);
          return id === undefined ? [] : [[f.platform, id]];
        }),
      ),
    });
  }
  return { rows, problems };
}

/**
 * Checks every row against the file and the store, and works out what importing it changes: a new
 * person, a new name, email or role, a linked Slack or Discord account, an enrolment. Every bad row
 * is reported with its line: a bad username, role or email, an unknown class, a chat id that is not
 * one or is linked to someone else (in the store or earlier in the file), a username twice.
 */
export async function planRosterImport(
  store: Store,
  rows: readonly RosterRow[],
  formats: readonly IdentityFormat[] = builtinIdentityFormats(),
): Promise<{ problems: RosterProblem[]; plans: RosterRowPlan[] }> {
  const problems: RosterProblem[] = [];
  const plans: RosterRowPlan[] = [];
  const classes = new Set((await store.classes.listClasses()).map((c) => c.id));
  const seenUser = new Map<string, number>();
  const seenAccount = new Map<string, { username: string; line: number }>();
  for (const row of rows) {
    const bad: string[] = [];
    if (!USERNAME.test(row.username))
      bad.push(
        row.username
          ? `'${row.username}' is not a username (2–32 lower-case letters, digits, dots, dashes or underscores, starting with a letter)`
          : 'the username is empty',
      );
    const first = seenUser.get(row.username);
    if (row.username && first !== undefined) bad.push(`username '${row.username}' is already on line ${first}`);
    else if (row.username) seenUser.set(row.username, row.line);
    if (row.role !== undefined && !ROLES.includes(row.role as PersonRole))
      bad.push(`unknown role '${row.role}'; roles are ${ROLES.join(', ')}`);
    if (row.email !== undefined && !EMAIL.test(row.email)) bad.push(`'${row.email}' is not an email address`);
    for (const c of row.classes)
      if (!classes.has(c)) bad.push(`unknown class '${c}'; create it first with class create`);
    const person = USERNAME.test(row.username) ? await store.classes.getPersonByUsername(row.username) : undefined;
    const changes: string[] = [];
    for (const format of accountColumns(formats)) {
      const { platform, label } = format;
      const id = row.accounts[platform];
      if (id === undefined) continue;
      if (!format.isUserId(id)) {
        bad.push(`'${id}' is not a ${label} user id (${format.shape})`);
        continue;
      }
      const owner = await store.classes.findByIdentity(platform, id);
      if (owner && owner.username !== row.username)
        bad.push(`${label} account ${id} is already linked to ${owner.username}`);
      const earlier = seenAccount.get(`${platform}:${id}`);
      if (earlier && earlier.username !== row.username)
        bad.push(`${label} account ${id} is also given to ${earlier.username} on line ${earlier.line}`);
      seenAccount.set(`${platform}:${id}`, { username: row.username, line: row.line });
      if (person && !owner) {
        const other = (await store.classes.identitiesOf(person.id)).find((i) => i.platform === platform);
        if (other)
          bad.push(`${row.username} already has ${label} account ${other.externalId}; an admin must unlink it first`);
      }
      if (!owner) changes.push(`link ${label} ${id}`);
    }
    if (bad.length) {
      problems.push({ line: row.line, message: bad.join('; ') });
      continue;
    }
    const role = (row.role ?? person?.role ?? 'student') as PersonRole;
    if (!person) changes.unshift(`add ${row.name ?? row.username}${row.email ? ` <${row.email}>` : ''} as ${role}`);
    else {
      if (row.name !== undefined && row.name !== person.displayName) changes.unshift(`rename to ${row.name}`);
      if (row.email !== undefined && row.email !== person.email) changes.unshift(`set email ${row.email}`);
      if (row.role !== undefined && row.role !== person.role) changes.unshift(`make ${row.role}`);
    }
    const memberOf = person
      ? new Set((await store.classes.classesOf(person.id)).map((m) => m.classId))
      : new Set<string>();
    for (const c of row.classes)
      if (!memberOf.has(c)) changes.push(`enrol in ${c}${role === 'student' ? '' : ' as teacher'}`);
    plans.push({ line: row.line, username: row.username, changes });
  }
  return { problems, plans };
}

/**
 * Imports a roster CSV. A dry run (the default) only reports what would change. With `apply`, a
 * file with any problem imports nothing; otherwise every change is written in one transaction, so
 * importing the same file again changes nothing.
 */
export async function importRoster(
  deps: { store: Store; clock?: Clock },
  csv: string,
  options: { apply?: boolean; formats?: readonly IdentityFormat[] } = {},
): Promise<RosterImportReport> {
  const clock = deps.clock ?? systemClock;
  const formats = options.formats ?? builtinIdentityFormats();
  const parsed = parseRosterCsv(csv, formats);
  const run = async (store: Store): Promise<RosterImportReport> => {
    const { problems, plans } = await planRosterImport(store, parsed.rows, formats);
    const all = [...parsed.problems, ...problems].sort((a, b) => a.line - b.line);
    const report = {
      rows: parsed.rows.length,
      problems: all,
      plans,
      changed: plans.filter((p) => p.changes.length).length,
      applied: false,
    };
    if (!options.apply || all.length) return report;
    for (const row of parsed.rows) await applyRow(store, row, clock.now());
    return { ...report, applied: true };
  };
  return options.apply ? deps.store.transaction(run) : run(deps.store);
}

async function applyRow(store: Store, row: RosterRow, at: number): Promise<void> {
  let person: PersonRecord | undefined = await store.classes.getPersonByUsername(row.username);
  const role = (row.role as PersonRole | undefined) ?? person?.role ?? 'student';
  if (!person) {
    person = await store.classes.createPerson(
      { username: row.username, displayName: row.name ?? row.username, email: row.email ?? null, role },
      at,
    );
  } else if (
    (row.name !== undefined && row.name !== person.displayName) ||
    (row.email !== undefined && row.email !== person.email) ||
    role !== person.role
  ) {
    person = await store.classes.updatePerson(person.id, {
      ...(row.name !== undefined ? { displayName: row.name } : {}),
      ...(row.email !== undefined ? { email: row.email } : {}),
      role,
    });
  }
  for (const [platform, externalId] of Object.entries(row.accounts))
    await store.classes.linkIdentity({ personId: person.id, platform, externalId });
  const memberOf = new Set((await store.classes.classesOf(person.id)).map((m) => m.classId));
  for (const c of row.classes)
    if (!memberOf.has(c))
      await store.classes.addMember({
        classId: c,
        personId: person.id,
        role: role === 'student' ? 'student' : 'teacher',
      });
}

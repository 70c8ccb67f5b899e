import type { PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { ROSTER_COLUMNS } from './roster-import.js';
import { neutraliseFormula } from './csv-formula.js';

/**
 * One CSV field, quoted as RFC 4180 says when it holds a comma, quote, line break or edge space, and
 * kept from running as a spreadsheet formula.
 */
function csvField(raw: string): string {
  const value = neutraliseFormula(raw);
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Rows as CSV text (CRLF line ends, as RFC 4180 and spreadsheets expect). */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  return (
    rows.map((row) => row.map((v) => csvField(v === null || v === undefined ? '' : String(v))).join(',')).join('\r\n') +
    '\r\n'
  );
}

/**
 * The lab's people as a roster CSV with the columns `people import` reads (`username,name,email,
 * role,class,slack,discord`; classes `;`-separated), so importing the file again changes nothing.
 * With `classId`, only that class's members, and only that class in the `class` column.
 */
export async function exportRosterCsv(store: Store, options: { classId?: string } = {}): Promise<string> {
  let people: PersonRecord[] = await store.classes.listPeople();
  if (options.classId !== undefined) {
    const members = new Set((await store.classes.members(options.classId)).map((m) => m.personId));
    people = people.filter((p) => members.has(p.id));
  }
  const rows: string[][] = [[...ROSTER_COLUMNS]];
  for (const p of [...people].sort((a, b) => a.username.localeCompare(b.username))) {
    const classes = (await store.classes.classesOf(p.id))
      .map((m) => m.classId)
      .filter((c) => options.classId === undefined || c === options.classId)
      .sort();
    const identities = await store.classes.identitiesOf(p.id);
    const account = (platform: string) => identities.find((i) => i.platform === platform)?.externalId ?? '';
    rows.push([
      p.username,
      p.displayName,
      p.email ?? '',
      p.role,
      classes.join(';'),
      account('slack'),
      account('discord'),
    ]);
  }
  return toCsv(rows);
}

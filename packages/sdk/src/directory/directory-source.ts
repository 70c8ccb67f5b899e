import type { DirectoryPersonInput } from './directory-person.js';

/** What one read of the directory found. */
export interface DirectoryRead {
  /** Everyone the user search matched, with their groups (nested membership resolved). */
  people: DirectoryPersonInput[];
  /** How nested groups were resolved. */
  nesting: 'in-chain' | 'walk';
  /** Entries skipped while reading (no username attribute), with why. */
  skipped: Array<{ dn: string; reason: string }>;
}

/**
 * The port the directory sync reads people and groups through (LDAP / Active Directory in
 * `LdapDirectory`). A read either returns everything or throws a `LabError`: the sync changes
 * nothing on a partial answer.
 */
export interface DirectorySource {
  /** Where it reads from, for messages and the audit log (no credentials). */
  readonly description: string;
  /** Reads the people and their groups; `mappedGroups` are the configured group names and DNs. */
  read(mappedGroups: readonly string[]): Promise<DirectoryRead>;
}

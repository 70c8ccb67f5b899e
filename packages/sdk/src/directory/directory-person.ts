import { USERNAME } from '../people/chat-accounts.js';

/** A person as the directory (LDAP entry or OpenID Connect claims) describes them, before cleaning. */
export interface DirectoryPersonInput {
  username: string;
  /** Undefined: keep the lab's (or the username for a new person). */
  displayName?: string | null;
  /** Undefined: keep the lab's. */
  email?: string | null;
  /** Group names or DNs the person is a member of (nested membership resolved). */
  groups: readonly string[];
}

/** A directory person with a usable username, a bounded display name and a checked email. */
export interface CleanDirectoryPerson {
  username: string;
  displayName: string | undefined;
  email: string | null | undefined;
  groups: readonly string[];
  /** What was dropped or changed while cleaning, e.g. an email that is not one. */
  notes: string[];
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
/** The longest display name the lab keeps (as `people add`). */
export const MAX_DISPLAY_NAME = 100;
const MAX_EMAIL = 254;

/**
 * Cleans a directory person the way the rest of the product bounds names: the username is
 * lower-cased and must be a lab username; control characters and runs of spaces leave the display
 * name, which is cut to 100 characters; an email that is not one is dropped (with a note). Returns
 * the reason instead when the username cannot be used.
 */
export function cleanDirectoryPerson(input: DirectoryPersonInput): CleanDirectoryPerson | { problem: string } {
  const raw = typeof input.username === 'string' ? input.username.trim() : '';
  const username = raw.toLowerCase();
  if (!USERNAME.test(username))
    return {
      problem: raw
        ? `'${raw.slice(0, 64)}' is not a usable lab username (2–32 letters, digits, dots, dashes or underscores, starting with a letter); map another attribute to the username`
        : 'the entry has no username',
    };
  const notes: string[] = [];
  let displayName: string | undefined;
  if (typeof input.displayName === 'string') {
    const cleaned = [
      ...input.displayName
        .replace(/\p{Cc}|\p{Cf}/gu, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    ];
    if (cleaned.length > MAX_DISPLAY_NAME) notes.push(`display name cut to ${MAX_DISPLAY_NAME} characters`);
    displayName = cleaned.slice(0, MAX_DISPLAY_NAME).join('').trim() || undefined;
  }
  let email: string | null | undefined;
  if (input.email === null) email = null;
  else if (typeof input.email === 'string') {
    const e = input.email.trim();
    if (!e) email = null;
    else if (e.length <= MAX_EMAIL && EMAIL.test(e)) email = e;
    else {
      notes.push(`'${e.slice(0, 64)}' is not an email address; left out`);
      email = undefined;
    }
  }
  const groups = Array.isArray(input.groups) ? input.groups.filter((g): g is string => typeof g === 'string') : [];
  return { username, displayName, email, groups, notes };
}

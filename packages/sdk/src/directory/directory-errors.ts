import { LabError } from '../errors/lab-error.js';

/** A directory entry or sign-in whose username cannot be a lab username. */
export class DirectoryPersonInvalidError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_PERSON_INVALID';
  constructor(problem: string) {
    super(DirectoryPersonInvalidError.code, `The directory's person cannot be used: ${problem}.`, { problem });
  }
}

/** The directory refused the service account's bind. */
export class DirectoryAuthError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_AUTH';
  constructor(url: string, bindDn: string) {
    super(
      DirectoryAuthError.code,
      `${url} refused the bind of ${bindDn}; check directory.ldap.bindDn and the password (passwordFile or LAB_DIRECTORY_PASSWORD). Nothing was changed.`,
      { url, bindDn },
    );
  }
}

/** The directory's certificate is not the pinned one or not signed by the configured CA. */
export class DirectoryTlsError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_TLS';
  constructor(facts: { url: string; reason: string; presented: string }) {
    super(
      DirectoryTlsError.code,
      `The certificate of ${facts.url} is not trusted (${facts.reason}); set directory.ldap.fingerprint to the server certificate's SHA-256 fingerprint (presented: ${facts.presented}) after checking it, or directory.ldap.ca/caFile to the CA that signed it. Nothing was changed.`,
      facts,
    );
  }
}

/** The directory could not be reached, or the connection broke before the read finished. */
export class DirectoryConnectionError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_CONNECTION';
  constructor(url: string, reason: string) {
    super(
      DirectoryConnectionError.code,
      `Could not read the directory at ${url} (${reason}); the lab keeps its last known roster and nothing was changed. Check that the server is up and reachable, then sync again.`,
      { url, reason },
    );
  }
}

/** The directory rejected a search (a bad base DN or filter, a size or time limit). */
export class DirectoryQueryError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_QUERY';
  constructor(facts: { url: string; base: string; filter: string; reason: string }) {
    super(
      DirectoryQueryError.code,
      `The directory at ${facts.url} rejected the search under ${facts.base} with filter ${facts.filter} (${facts.reason}); fix directory.ldap (userBase, userFilter, groupBase, groupFilter). Nothing was changed.`,
      facts,
    );
  }
}

/** A sync would unenrol more than the configured share of some class; it stopped before changing anything. */
export class DirectoryUnenrolThresholdError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_UNENROL_THRESHOLD';
  constructor(facts: { classes: Array<{ classId: string; unenrol: number; students: number }>; maxShare: number }) {
    super(
      DirectoryUnenrolThresholdError.code,
      `The directory sync would unenrol ${facts.classes
        .map((c) => `${c.unenrol} of ${c.students} students of ${c.classId}`)
        .join(
          ', ',
        )}, more than ${Math.round(facts.maxShare * 100)} % of a class; nothing was changed. Check the user filter and the groups (lab directory sync --dry-run lists the changes); if they are right, run lab directory sync --confirm-unenrol.`,
      facts,
    );
  }
}

/** Another process is running a directory sync. */
export class DirectorySyncBusyError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_SYNC_BUSY';
  constructor(holder: string, until: number) {
    super(
      DirectorySyncBusyError.code,
      `A directory sync is already running in ${holder}; try again after ${new Date(until).toISOString()}.`,
      { holder, until },
    );
  }
}

/** The directory sync was asked for but `directory.ldap` is not configured. */
export class DirectoryNotConfiguredError extends LabError {
  static override readonly code: string = 'LAB_DIRECTORY_NOT_CONFIGURED';
  constructor() {
    super(
      DirectoryNotConfiguredError.code,
      'No directory is configured; add directory.ldap and directory.groups to lab.config.json (see the README, "Class lists from the school directory").',
    );
  }
}

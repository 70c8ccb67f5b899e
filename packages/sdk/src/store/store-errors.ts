import { LabError } from '../errors/lab-error.js';

/** A write broke one of the store's rules (uniqueness, references). */
export class StoreConstraintError extends LabError {
  protected static override readonly brand: string = '@lab/StoreConstraintError';
  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, data, options);
  }
}

/** A template already has a VMID mapped on that node. */
export class DuplicateTemplateMappingError extends StoreConstraintError {
  static override readonly code: string = 'LAB_STORE_DUPLICATE_MAPPING';
  constructor(facts: { templateId: number; clusterId: string; node: string }, options?: { cause?: unknown }) {
    super(
      DuplicateTemplateMappingError.code,
      `template ${facts.templateId} already has a VMID on node '${facts.node}' of cluster '${facts.clusterId}'; remove that mapping first to change it`,
      facts,
      options,
    );
  }
}

/** A name that must be unique is taken. */
export class DuplicateNameError extends StoreConstraintError {
  static override readonly code: string = 'LAB_STORE_DUPLICATE_NAME';
  constructor(entity: string, name: string, options?: { cause?: unknown }) {
    super(
      DuplicateNameError.code,
      `a ${entity} named '${name}' already exists; pick another name`,
      { entity, name },
      options,
    );
  }
}

/** A record refers to something that does not exist (an unknown class, person or template). */
export class UnknownReferenceError extends StoreConstraintError {
  static override readonly code: string = 'LAB_STORE_UNKNOWN_REFERENCE';
  constructor(entity: string, id: string | number, options?: { cause?: unknown }) {
    super(UnknownReferenceError.code, `no ${entity} '${id}' exists`, { entity, id }, options);
  }
}

/** A chat account is already linked to another person. */
export class IdentityTakenError extends StoreConstraintError {
  static override readonly code: string = 'LAB_STORE_IDENTITY_TAKEN';
  constructor(facts: { platform: string; externalId: string; ownerId: number }) {
    super(
      IdentityTakenError.code,
      `the ${facts.platform} account ${facts.externalId} is already linked to person ${facts.ownerId}; unlink it there first`,
      facts,
    );
  }
}

/** A person already has a (different) account on this platform: one account per person per platform. */
export class PersonAlreadyLinkedError extends StoreConstraintError {
  static override readonly code: string = 'LAB_STORE_PERSON_LINKED';
  constructor(facts: { platform: string; externalId: string; personId: number }, options?: { cause?: unknown }) {
    super(
      PersonAlreadyLinkedError.code,
      `person ${facts.personId} already has a ${facts.platform} account linked; unlink it before linking ${facts.externalId}`,
      { platform: facts.platform, externalId: facts.externalId, personId: facts.personId },
      options,
    );
  }
}

/** A platform id that is not one: only a registered front end's id is stored (`slack`, `web`, `mattermost`). */
export class IdentityPlatformError extends StoreConstraintError {
  static override readonly code: string = 'LAB_IDENTITY_PLATFORM';
  constructor(platform: string) {
    super(
      IdentityPlatformError.code,
      `'${platform.slice(0, 40)}' is not a platform id; use a registered front end's id (lower-case letters, digits or dashes, 2–32 long, e.g. slack)`,
      { platform: platform.slice(0, 40) },
    );
  }
}

/** A record to change does not exist. */
export class RecordNotFoundError extends LabError {
  static override readonly code: string = 'LAB_STORE_NOT_FOUND';
  constructor(entity: string, id: string | number) {
    super(RecordNotFoundError.code, `no ${entity} '${id}' exists`, { entity, id });
  }
}

/**
 * The store could not be opened (database unreachable, file not writable, migration failed).
 * `url` and `reason` are shown as given: the caller removes passwords first.
 */
export class StoreUnavailableError extends LabError {
  static override readonly code: string = 'LAB_STORE_UNAVAILABLE';
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(
      StoreUnavailableError.code,
      `cannot open the store at ${url}: ${reason}; check the 'store' setting and that the database is running and writable`,
      { url, reason },
      options,
    );
  }
}

/**
 * Code inside `store.transaction(fn)` called the outer store instead of the transaction's `tx`.
 * On SQLite (one connection) and in the memory store that call would wait for the transaction it
 * runs in, forever; on PostgreSQL it would read and write outside the transaction. Every engine
 * throws this at once instead.
 */
export class StoreInTransactionError extends LabError {
  static override readonly code: string = 'LAB_STORE_OUTER_IN_TRANSACTION';
  constructor(call: string) {
    super(
      StoreInTransactionError.code,
      `${call} was called on the outer store inside store.transaction(); use the transaction's store (the callback's argument) for every call inside it`,
      { call },
    );
  }
}

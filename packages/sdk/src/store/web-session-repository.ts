import type { EpochMs } from './records.js';

/**
 * A signed-in browser: who (the lab person and the OpenID identity that signed in), since when, and
 * until when. Only the hash of the session id the cookie carries is kept, so a leaked database holds
 * no usable session.
 */
export interface WebSessionRecord {
  /** Hex SHA-256 of the session id. */
  idHash: string;
  personId: number;
  /** The OpenID provider's issuer that signed the person in. */
  issuer: string;
  /** The provider's `sub` for the person. */
  subject: string;
  createdAt: EpochMs;
  /** The last request the session made (idle timeout). */
  lastSeenAt: EpochMs;
  /** The last moment the session works however active it is (absolute timeout). */
  expiresAt: EpochMs;
  /** When it was signed out or revoked; null while it works. */
  revokedAt: EpochMs | null;
}

/** Web portal sessions, stored by the hash of their id; shared by every process on the store. */
export interface WebSessionRepository {
  /** Records a new session; an unknown person → `UnknownReferenceError`, a taken hash → `DuplicateNameError`. */
  create(session: Omit<WebSessionRecord, 'revokedAt' | 'lastSeenAt'>): Promise<WebSessionRecord>;
  get(idHash: string): Promise<WebSessionRecord | undefined>;
  /** Moves `lastSeenAt` forward to `at` (never back); false when there is no such session. */
  touch(idHash: string, at: EpochMs): Promise<boolean>;
  /** Ends one session at `at`; false when it did not exist or had already ended. */
  revoke(idHash: string, at: EpochMs): Promise<boolean>;
  /** Ends every working session of a person at `at` (an admin's revocation); returns how many. */
  revokeForPerson(personId: number, at: EpochMs): Promise<number>;
  /** Deletes sessions whose absolute expiry is before `before`; returns how many. */
  prune(before: EpochMs): Promise<number>;
}

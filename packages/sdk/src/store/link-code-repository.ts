import type { EpochMs } from './records.js';

/**
 * A one-time code that links a chat account to the person who asked for it on the web portal,
 * where the school's sign-in proved who they are. Only the hash of the code is kept.
 */
export interface LinkCodeRecord {
  /** Hex SHA-256 of the code. */
  codeHash: string;
  personId: number;
  createdAt: EpochMs;
  /** The last moment the code works. */
  expiresAt: EpochMs;
  /** When it was used; null until then. A code works once. */
  usedAt: EpochMs | null;
  /** The chat account that used it (`slack:U0123`); null until then. */
  usedBy: string | null;
}

/** What redeeming a link code did: `ok` with the code, or why not. */
export type LinkCodeRedemption =
  | { outcome: 'ok'; code: LinkCodeRecord }
  | { outcome: 'unknown' }
  | { outcome: 'expired' | 'used'; code: LinkCodeRecord };

/** One-time chat-account link codes, stored by their hash. */
export interface LinkCodeRepository {
  /**
   * Records a new, unused code and deletes the person's earlier unused ones (a person has one live
   * code). An unknown person → `UnknownReferenceError`, a taken hash → `DuplicateNameError`.
   */
  create(code: Omit<LinkCodeRecord, 'usedAt' | 'usedBy'>): Promise<void>;
  get(codeHash: string): Promise<LinkCodeRecord | undefined>;
  /**
   * Marks the code used by `usedBy` at `now`, atomically across processes: exactly one caller gets
   * `ok`. `expired` after `expiresAt`, `used` once used; nothing changes unless the answer is `ok`.
   */
  redeem(codeHash: string, usedBy: string, now: EpochMs): Promise<LinkCodeRedemption>;
  /** Deletes codes that expired before `before`; returns how many. */
  prune(before: EpochMs): Promise<number>;
}

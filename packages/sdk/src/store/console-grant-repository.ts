import type { EpochMs } from './records.js';

/**
 * A one-time console link: who asked (person and chat identity), for which VM, until when it may be
 * opened, and how long the session it opens may last. Only the hash of the link's token is kept.
 */
export interface ConsoleGrantRecord {
  /** Hex SHA-256 of the link's token. */
  tokenHash: string;
  personId: number;
  clusterId: string;
  vmid: number;
  /** The chat platform the link was asked from (`slack`, `discord`, `cli`). */
  platform: string;
  /** The chat account that asked, as the platform names it. */
  platformUserId: string;
  createdAt: EpochMs;
  /** The last moment the link opens. */
  expiresAt: EpochMs;
  /** How long a session opened with the link may last. */
  sessionMaxMs: number;
  /** When the link was opened; null until then. A link opens once. */
  usedAt: EpochMs | null;
}

/** What redeeming a console link did: `ok` with the grant, or why not. */
export type ConsoleGrantRedemption =
  | { outcome: 'ok'; grant: ConsoleGrantRecord }
  | { outcome: 'unknown' }
  | { outcome: 'expired' | 'used'; grant: ConsoleGrantRecord };

/** One-time console links, stored by the hash of their token. */
export interface ConsoleGrantRepository {
  /** Records a new, unused grant; an unknown person → `UnknownReferenceError`, a taken hash → `DuplicateNameError`. */
  create(grant: Omit<ConsoleGrantRecord, 'usedAt'>): Promise<void>;
  get(tokenHash: string): Promise<ConsoleGrantRecord | undefined>;
  /**
   * Marks the grant used at `now`, atomically across processes: exactly one caller gets `ok`.
   * `expired` after `expiresAt`, `used` once opened; nothing changes unless the answer is `ok`.
   */
  redeem(tokenHash: string, now: EpochMs): Promise<ConsoleGrantRedemption>;
  /** Deletes grants that expired before `before`; returns how many. */
  prune(before: EpochMs): Promise<number>;
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, Store, WebSessionRecord } from '@lab/proxmox-sdk';

/** A working session as a request sees it. */
export interface OpenSession {
  record: WebSessionRecord;
  /** The token every state-changing request of this session must carry. */
  csrfToken: string;
}

/** Why a cookie's session does not work (any more). */
export type SessionEnd = 'unknown' | 'revoked' | 'idle' | 'expired';

/** Sessions are touched at most this often, so a page view is not always a write. */
const TOUCH_EVERY_MS = 60_000;

/** Hex SHA-256 of a session id: all the store keeps. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * The CSRF token of a session, derived from its id: bound to the session, the same in every process
 * on the store, and telling nothing about the id (a one-way hash of it).
 */
export function csrfTokenOf(sessionId: string): string {
  return createHash('sha256').update(`lab-web-csrf\0${sessionId}`).digest('base64url');
}

/** Compares a sent CSRF token with the session's in constant time. */
export function csrfTokenMatches(sessionId: string, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const expected = Buffer.from(csrfTokenOf(sessionId));
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Web portal sessions in the store: random ids, idle and absolute timeouts, ended everywhere at once. */
export class WebSessions {
  constructor(private readonly deps: { store: Store; clock: Clock; idleMs: number; absoluteMs: number }) {}

  /** Opens a session for a person signed in as `issuer`/`subject`; returns the id the cookie carries. */
  async open(personId: number, issuer: string, subject: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.deps.clock.now();
    await this.deps.store.webSessions.create({
      idHash: hashSessionId(id),
      personId,
      issuer,
      subject,
      createdAt: now,
      expiresAt: now + this.deps.absoluteMs,
    });
    return id;
  }

  /** The working session of `id`, touched; or why it does not work. */
  async read(id: string): Promise<OpenSession | { ended: SessionEnd }> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return { ended: 'unknown' };
    const { store, clock, idleMs } = this.deps;
    const idHash = hashSessionId(id);
    const record = await store.webSessions.get(idHash);
    if (!record) return { ended: 'unknown' };
    if (record.revokedAt !== null) return { ended: 'revoked' };
    const now = clock.now();
    if (now > record.expiresAt) return { ended: 'expired' };
    if (now - record.lastSeenAt > idleMs) {
      await store.webSessions.revoke(idHash, now);
      return { ended: 'idle' };
    }
    if (now - record.lastSeenAt >= TOUCH_EVERY_MS) await store.webSessions.touch(idHash, now);
    return { record, csrfToken: csrfTokenOf(id) };
  }

  /** Ends the session of `id` (sign-out); false when it was not working. */
  close(id: string): Promise<boolean> {
    return this.deps.store.webSessions.revoke(hashSessionId(id), this.deps.clock.now());
  }
}

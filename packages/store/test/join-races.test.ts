import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createInvite,
  decideJoinRequest,
  joinWithInvite,
  redeemLinkCode,
  type Store,
  type Viewer,
} from '@lab/proxmox-sdk';
import { openStore } from '../src/index.js';
import { createScratchPostgresDatabase, postgresUnavailableReason } from './engines.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-join-races-'));
const pgReason = await postgresUnavailableReason();
if (pgReason) console.log(`[join races] PostgreSQL skipped: ${pgReason}`);
const scratches: Array<{ drop: () => Promise<void> }> = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const s of scratches) await s.drop();
});
const engines = pgReason ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);

/**
 * Two connections to one database, as two `lab serve` processes have. On SQLite a second
 * connection in this process would block the first one's open transaction (better-sqlite3 waits
 * synchronously), so both names are one connection there: SQLite serialises writers anyway.
 */
async function twoProcesses(engine: 'sqlite' | 'postgres'): Promise<[Store, Store]> {
  if (engine === 'sqlite') {
    const one = await openStore(`sqlite:${join(dir, `${Math.random().toString(36).slice(2)}.db`)}`);
    const close = one.close.bind(one);
    let open = 2;
    one.close = async () => {
      if (--open === 0) await close();
    };
    return [one, one];
  }
  const scratch = await createScratchPostgresDatabase();
  scratches.push(scratch);
  const one = await openStore(scratch.url);
  return [one, await openStore(scratch.url)];
}

const admin: Viewer = { personId: null, username: 'root', role: 'admin' };
const NAMES = Array.from({ length: 20 }, (_, i) => `student${i}`);

describe.each(engines)('joining a class at the same moment on %s', (engine) => {
  it('lets 60 parallel wrong codes from one account try 5, not more', async () => {
    const [a, b] = await twoProcesses(engine);
    try {
      await a.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, Date.now());
      const tries = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          joinWithInvite(
            { store: i % 2 ? a : b },
            { code: `ZZZZZ-ZZZ${String(i).padStart(2, '0')}`, platform: 'slack', externalId: 'UGUESS' },
          ),
        ),
      );
      const codes = tries.map((t) => (t.status === 'rejected' ? (t.reason as { code?: string }).code : 'joined'));
      expect(codes.filter((c) => c === 'LAB_INVITE_INVALID')).toHaveLength(5);
      expect(codes.filter((c) => c === 'LAB_INVITE_RATE_LIMITED')).toHaveLength(55);
      const audited = await a.audit.list({ actor: 'slack:UGUESS', action: 'invite.join' });
      expect(audited.filter((x) => x.details.reason === 'invalid-code')).toHaveLength(5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets 60 parallel wrong link codes from one account try 5, not more', async () => {
    const [a, b] = await twoProcesses(engine);
    try {
      const tries = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          redeemLinkCode(
            { store: i % 2 ? a : b },
            { code: `ZZZZZ-ZZZ${String(i).padStart(2, '0')}`, platform: 'slack', externalId: 'ULINKGUESS' },
          ),
        ),
      );
      const codes = tries.map((t) => (t.status === 'rejected' ? (t.reason as { code?: string }).code : 'linked'));
      expect(codes.filter((c) => c === 'LAB_LINK_CODE_INVALID')).toHaveLength(5);
      expect(codes.filter((c) => c === 'LAB_LINK_CODE_RATE_LIMITED')).toHaveLength(55);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('links each of 20 roster names to one account when two accounts claim each at once, and teachers approve both', async () => {
    const [a, b] = await twoProcesses(engine);
    try {
      const now = Date.now();
      await a.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      for (const username of NAMES) {
        const p = await a.classes.createPerson({ username, displayName: username, role: 'student' }, now);
        await a.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
      }
      const codes = [
        (await createInvite({ store: a }, { classId: 'cs101', createdBy: null, maxUses: 40 })).code,
        (await createInvite({ store: a }, { classId: 'cs101', createdBy: null, maxUses: 40 })).code,
      ];
      // Two accounts per name, two codes, two processes: every claim becomes a request, none a link.
      const claims = await Promise.all(
        NAMES.flatMap((username, i) =>
          [0, 1].map((k) =>
            joinWithInvite(
              { store: k ? a : b },
              { code: codes[k]!, platform: 'discord', externalId: `${1000 + i * 2 + k}`, username },
            ),
          ),
        ),
      );
      expect(claims.every((c) => c.request?.status === 'pending')).toBe(true);
      for (const username of NAMES)
        expect(await a.classes.identitiesOf((await a.classes.getPersonByUsername(username))!.id)).toEqual([]);
      // Two teachers press Approve on both requests of every name at once.
      const decisions = await Promise.allSettled(
        claims.map((c, i) =>
          decideJoinRequest({ store: i % 2 ? a : b }, { actor: admin, id: c.request!.id, approve: true }),
        ),
      );
      for (const username of NAMES) {
        const person = (await a.classes.getPersonByUsername(username))!;
        expect(await a.classes.identitiesOf(person.id), username).toHaveLength(1);
      }
      const refused = decisions.filter((d): d is PromiseRejectedResult => d.status === 'rejected');
      expect(refused).toHaveLength(NAMES.length);
      for (const r of refused) expect((r.reason as Error).message).toMatch(/already has a discord account linked/);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});

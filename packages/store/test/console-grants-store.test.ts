import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { Store } from '@lab/proxmox-sdk';
import { enginesUnderTest } from './engines.js';

const { engines, skipped } = await enginesUnderTest();
if (skipped) console.log(`[console grants] PostgreSQL skipped: ${skipped}`);
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

const T0 = 1_700_000_000_000;

describe.each(engines.map((e) => [e.name, e] as const))('console grants on %s', (_name, engine) => {
  let store: Store;
  let personId: number;
  const grant = (tokenHash: string) => ({
    tokenHash,
    personId,
    clusterId: 'lab',
    vmid: 101,
    platform: 'slack',
    platformUserId: 'U1',
    createdAt: T0,
    expiresAt: T0 + 60_000,
    sessionMaxMs: 1_800_000,
  });
  beforeEach(async () => {
    store = await engine.open();
    personId = (await store.classes.createPerson({ username: 'ann', displayName: 'Ann', role: 'student' }, T0)).id;
  });
  afterEach(async () => {
    await store.close();
  });

  it('are stored unused and read back by their hash', async () => {
    await store.consoleGrants.create(grant('a'.repeat(64)));
    expect(await store.consoleGrants.get('a'.repeat(64))).toEqual({ ...grant('a'.repeat(64)), usedAt: null });
    expect(await store.consoleGrants.get('b'.repeat(64))).toBeUndefined();
  });

  it('open once: the first redemption wins, the next ones are told the link was used', async () => {
    await store.consoleGrants.create(grant('h1'));
    const results = await Promise.all([1, 2, 3, 4].map(() => store.consoleGrants.redeem('h1', T0 + 1_000)));
    expect(results.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'used')).toHaveLength(3);
    expect((await store.consoleGrants.get('h1'))?.usedAt).toBe(T0 + 1_000);
  });

  it('do not open after they expire, and an expired link stays unused', async () => {
    await store.consoleGrants.create(grant('h2'));
    expect(await store.consoleGrants.redeem('h2', T0 + 60_001)).toMatchObject({
      outcome: 'expired',
      grant: { usedAt: null },
    });
    expect(await store.consoleGrants.redeem('h2', T0 + 60_000)).toMatchObject({
      outcome: 'ok',
      grant: { usedAt: T0 + 60_000 },
    });
    expect(await store.consoleGrants.redeem('nope', T0)).toEqual({ outcome: 'unknown' });
  });

  it('refuse a taken hash and an unknown person, go with their person and are pruned after expiry', async () => {
    await store.consoleGrants.create(grant('h3'));
    await expect(store.consoleGrants.create(grant('h3'))).rejects.toBeInstanceOf(DuplicateNameError);
    await expect(store.consoleGrants.create({ ...grant('h4'), personId: 9999 })).rejects.toBeInstanceOf(
      UnknownReferenceError,
    );
    await store.consoleGrants.create({ ...grant('h5'), expiresAt: T0 + 10 });
    expect(await store.consoleGrants.prune(T0 + 20)).toBe(1);
    expect(await store.consoleGrants.get('h5')).toBeUndefined();
    await store.classes.deletePerson(personId);
    expect(await store.consoleGrants.get('h3')).toBeUndefined();
  });
});

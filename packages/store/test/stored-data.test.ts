import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, StoreDataError, type KyselyStore } from '../src/index.js';

let dir: string;
let store: KyselyStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-stored-data-'));
  store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rows and stored JSON are read through their schemas', () => {
  it('reads back what the store wrote: deployment specs, notify targets, one-time payloads, skipped dates', async () => {
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, 1);
    await store.deployments.create(
      {
        id: 'd1',
        classId: 'cs101',
        clusterId: 'lab',
        spec: { classId: 'cs101', count: 2 },
        status: 'running',
        createdBy: 'root',
        createdAt: 1,
        updatedAt: 1,
        finishedAt: null,
        error: null,
        notify: { platform: 'slack', channel: 'C1' },
      },
      [],
    );
    expect(await store.deployments.get('d1')).toMatchObject({
      spec: { classId: 'cs101', count: 2 },
      notify: { platform: 'slack', channel: 'C1' },
      status: 'running',
    });
    await store.nonces.put('k', { a: [1, 'two', null] }, 100, 1);
    expect(await store.nonces.take('k', 2)).toEqual({ a: [1, 'two', null] });
  });

  it('refuses a row changed by hand to a value the store never writes, naming it', async () => {
    await store.classes.createPerson({ username: 'ada', displayName: 'Ada', role: 'teacher' }, 1);
    await sql`update people set role = 'superuser'`.execute(store.db);
    const error = await store.classes.getPersonByUsername('ada').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreDataError);
    expect((error as StoreDataError).code).toBe('LAB_STORE_CORRUPT_DATA');
    expect((error as Error).message).toMatch(
      /^the store holds a person role it cannot read \(.+\); fix that row by hand or restore the database from a backup$/,
    );
  });

  it('refuses a deployment whose spec is not JSON', async () => {
    await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, 1);
    await store.deployments.create(
      {
        id: 'd1',
        classId: 'cs101',
        clusterId: 'lab',
        spec: {},
        status: 'running',
        createdBy: 'root',
        createdAt: 1,
        updatedAt: 1,
        finishedAt: null,
        error: null,
      },
      [],
    );
    await sql`update deployments set spec = '{not json'`.execute(store.db);
    const error = await store.deployments.get('d1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreDataError);
    expect((error as Error).message).toBe(
      'the store holds a spec of deployment d1 it cannot read (not JSON); fix that row by hand or restore the database from a backup',
    );
  });
});

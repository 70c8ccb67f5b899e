import { afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Store } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { openStore, redactStoreUrl } from '../src/index.js';

/** A store under test and how to start it afresh. */
export interface EngineUnderTest {
  name: 'memory' | 'sqlite' | 'postgres';
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Removes everything the engine created. */
  dispose(): Promise<void>;
  /** A URL other processes can open (not for memory). */
  url?: string;
}

/** The PostgreSQL URL tests use: LAB_TEST_POSTGRES_URL, else the machine's local server. */
export const postgresUrl = process.env.LAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL tests cannot run here, or undefined when a server answers. */
export async function postgresUnavailableReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return `no PostgreSQL answers at ${redactStoreUrl(postgresUrl)} (${(error as Error).message}); set LAB_TEST_POSTGRES_URL to run these tests`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A throw-away database on the PostgreSQL server, dropped by `drop()`. */
export async function createScratchPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `lab_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

const TABLES =
  'invite_uses, invites, nonces, audit_log, leases, sync_state, deployment_items, deployments, vm_inventory, vm_assignments, class_members, classes, identities, people, template_inventory, template_node_mappings, templates, clusters';

/** Memory, SQLite (temp files) and, where a server answers, PostgreSQL (a scratch database). */
export async function enginesUnderTest(): Promise<{ engines: EngineUnderTest[]; skipped?: string }> {
  const engines: EngineUnderTest[] = [
    { name: 'memory', open: async () => createMemoryStore(), dispose: async () => undefined },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'lab-store-'));
  let n = 0;
  engines.push({
    name: 'sqlite',
    open: () => openStore(`sqlite:${join(dir, `t${n++}.db`)}`),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  });
  const reason = await postgresUnavailableReason();
  if (reason) return { engines, skipped: reason };
  const scratch = await createScratchPostgresDatabase();
  engines.push({
    name: 'postgres',
    url: scratch.url,
    async open() {
      const store = await openStore(scratch.url, { poolSize: 4 });
      const client = new pg.Client({ connectionString: scratch.url });
      await client.connect();
      await client.query(`truncate ${TABLES} restart identity cascade`);
      await client.end();
      return store;
    },
    dispose: () => scratch.drop(),
  });
  return { engines };
}

/**
 * Databases that several processes of one test share: each `sharedUrl('sqlite')` is a new SQLite
 * file, each `sharedUrl('postgres')` a scratch PostgreSQL database, all removed after the file's
 * tests. `engines` leaves PostgreSQL out (said once, under `label`) when none answers.
 */
export async function sharedStores(label: string): Promise<{
  engines: ReadonlyArray<'sqlite' | 'postgres'>;
  sharedUrl: (engine: 'sqlite' | 'postgres') => Promise<string>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'lab-shared-store-'));
  const pgReason = await postgresUnavailableReason();
  if (pgReason) console.log(`[${label}] PostgreSQL skipped: ${pgReason}`);
  const scratches: Array<{ drop: () => Promise<void> }> = [];
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    for (const s of scratches) await s.drop();
  });
  return {
    engines: pgReason ? ['sqlite'] : ['sqlite', 'postgres'],
    async sharedUrl(engine) {
      if (engine === 'sqlite') return `sqlite:${join(dir, `${Math.random().toString(36).slice(2)}.db`)}`;
      const scratch = await createScratchPostgresDatabase();
      scratches.push(scratch);
      return scratch.url;
    },
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as commands from '@lab/commands';
import type { Store } from '@lab/proxmox-sdk';
import { openStore, type KyselyStore } from '@lab/proxmox-store';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import {
  TestBrowser,
  csrfOf,
  startDevOidcProvider,
  startPortal,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

const postgresUrl = process.env.LAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh store somewhere both portals reach, and how to remove it. */
interface SharedStore {
  url: string;
  drop(): Promise<void>;
}

const sqliteFile = (): SharedStore => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-web-progress-'));
  return {
    url: `sqlite:${join(dir, 'lab.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

const postgresDatabase = async (): Promise<SharedStore> => {
  const name = `lab_web_progress_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
};

/** Calls of the store's deployment reads, to show that the browsers share one reader. */
const reads = { unfinished: 0, items: 0, inFlight: 0, maxInFlight: 0 };

/** The store with its deployment reads counted (methods bound to the store, whose fields are private). */
function countingReads(store: KyselyStore): Store {
  const bind = <T extends object>(target: T, count?: (name: string | symbol) => boolean): T =>
    new Proxy(target, {
      get(t, name) {
        const value: unknown = Reflect.get(t, name, t);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!count?.(name)) return (value as (...a: unknown[]) => unknown).apply(t, args);
          reads.maxInFlight = Math.max(reads.maxInFlight, ++reads.inFlight);
          return Promise.resolve((value as (...a: unknown[]) => unknown).apply(t, args)).finally(
            () => reads.inFlight--,
          );
        };
      },
    });
  const deployments = bind(store.deployments, (name) => {
    if (name === 'unfinished') reads.unfinished++;
    else if (name === 'items') reads.items++;
    else return false;
    return true;
  });
  return new Proxy(store, {
    get(t, name) {
      if (name === 'deployments') return deployments;
      const value: unknown = Reflect.get(t, name, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

/** Reads a Server-Sent Events stream to its end, as `event` and parsed `data` pairs. */
async function eventsOf(response: Response): Promise<Array<{ event: string; data: { text: string } }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((frame) => ({
      event: /^event: (.*)$/m.exec(frame)?.[1],
      data: /^data: (.*)$/m.exec(frame)?.[1],
    }))
    .filter((f): f is { event: string; data: string } => f.event !== undefined && f.data !== undefined)
    .map((f) => ({ event: f.event, data: JSON.parse(f.data) as { text: string } }));
}

describe.each([
  ['one SQLite file', sqliteFile],
  ['one PostgreSQL database', postgresDatabase],
])('deployment progress across two portals on %s', (_name, makeStore) => {
  let shared: SharedStore;
  let storeA: KyselyStore;
  let storeB: KyselyStore;
  let lab: Lab;
  let provider: DevOidcProvider;
  let portalA: PortalUnderTest;
  let portalB: PortalUnderTest;

  beforeAll(async () => {
    shared = await makeStore();
    storeA = await openStore(shared.url);
    storeB = await openStore(shared.url);
    // Slower than the other tests' simulator, so the deployment has steps to watch.
    lab = await startTestLab(commands, { store: storeA, sim: { timeScale: 40 } });
    const first = await lab.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
    if (first.status !== 'done') throw new Error(`cs101 deploy ${first.status}`);
    // Process B: its own store connection, services and router; the same cluster.
    const servicesB = commands.createLabServices({
      store: storeB,
      clusters: { get: () => lab.api, ids: () => ['lab'] },
      sync: { probe: { isOpen: async () => false } },
      pollIntervalMs: 20,
    });
    const routerB = new commands.CommandRouter(servicesB, commands.builtinPlugins, { rateLimit: { perMinute: 1000 } });
    provider = await startDevOidcProvider();
    const oidc = { issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret };
    portalA = await startPortal(lab, oidc);
    portalB = await startPortal(lab, oidc, { store: countingReads(storeB), router: routerB });
  }, 60_000);

  afterAll(async () => {
    await portalA?.close();
    await portalB?.close();
    await provider?.close();
    await lab?.close();
    await storeA?.close();
    await storeB?.close();
    await shared?.drop();
  });

  const signIn = async (portal: PortalUnderTest) => {
    const browser = new TestBrowser();
    const start = await browser.get(`${portal.url}/login?login_hint=lovelace`, { follow: true });
    expect(start.status).toBe(200);
    return { browser, csrf: csrfOf(await start.text()) };
  };

  beforeAll(() => {
    Object.assign(reads, { unfinished: 0, items: 0, inFlight: 0, maxInFlight: 0 });
  });

  it('browsers on portal B follow, from the store, a deployment portal A runs, sharing one reader; A sends its own events once', async () => {
    const a = await signIn(portalA);
    const b = await signIn(portalB);
    const watchers = await Promise.all(
      Array.from({ length: 20 }, () => b.browser.get(`${portalB.url}/class/cs101/progress/events`)),
    );
    for (const w of watchers) expect(w.headers.get('content-type')).toMatch(/^text\/event-stream/);

    // Each clone answers late, so the deployment lasts several of the feed's rounds.
    lab.sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', kind: 'delay', delayMs: 700 });
    const started = await a.browser.post(`${portalA.url}/class/cs101/deploy`, { _csrf: a.csrf, count: '4' });
    expect(started.status).toBe(303);
    const onA = a.browser.get(`${portalA.url}/class/cs101/progress/events`);

    const streams = await Promise.all(watchers.map(eventsOf));
    lab.sim.faults.clear();
    for (const events of streams) {
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.text);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((t) => /^cs101 [▓░]{16} \d+\/\d+/.test(t))).toBe(true);
      const done = events.filter((e) => e.event === 'done');
      expect(done).toHaveLength(1);
      expect(done[0]!.data.text).toMatch(/^cs101: finished, (\d+) of \1 VM\(s\) done\.$/);
    }
    for (const events of streams.slice(1)) expect(events).toEqual(streams[0]);
    // One reader for all 20 browsers: a round reads the running deployment's items once, whoever watches.
    expect(reads.unfinished).toBeGreaterThan(0);
    expect(reads.items).toBeLessThanOrEqual(reads.unfinished + 1);
    expect(reads.maxInFlight).toBe(1);
    const page = await (await b.browser.get(`${portalB.url}/class/cs101/progress`)).text();
    expect(page).toContain(streams[0]!.at(-1)!.data.text);

    const local = await eventsOf(await onA);
    const localDone = local.filter((e) => e.event === 'done');
    expect(localDone).toHaveLength(1);
    expect(localDone[0]!.data.text).toMatch(/^cs101: 2 created, \d+ kept, 0 deleted in/);
    const rows = await storeB.deployments.list({ classId: 'cs101' });
    expect(rows.some((d) => d.status === 'done' && d.notify?.platform === 'web')).toBe(true);
  }, 60_000);
});

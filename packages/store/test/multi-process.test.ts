import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { createScratchPostgresDatabase, postgresUnavailableReason } from './engines.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'lab-mp-'));
const pgReason = await postgresUnavailableReason();
if (pgReason) console.log(`[multi-process] PostgreSQL lease test skipped: ${pgReason}`);
const scratch = pgReason ? undefined : await createScratchPostgresDatabase();
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await scratch?.drop();
});

interface Acquired {
  holder: string;
  at: number;
  expiresAt: number;
}

/** A worker process; with `wait` as its last argument a contender opens its store, says so (`ready`) and starts on `go()`. */
function run(
  script: string,
  args: string[],
): {
  child: ChildProcess;
  ready: Promise<void>;
  go: () => void;
  done: Promise<{ code: number | null; lines: Acquired[]; stderr: string }>;
} {
  const child = spawn(process.execPath, [join(fixtures, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  child.stdout.on('data', (c) => {
    stdout += c;
    if (stdout.includes('{"ready":true}')) markReady();
  });
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; lines: Acquired[]; stderr: string }>((r) =>
    child.on('exit', (code) => {
      markReady();
      r({
        code,
        stderr,
        lines: stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Acquired & { ready?: true })
          .filter((l) => !l.ready),
      });
    }),
  );
  return { child, ready, go: () => child.stdin.end('go\n'), done };
}

/** No acquisition by one holder falls inside a window another holder still held. */
function expectExclusive(events: Acquired[]): void {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  let current: Acquired | undefined;
  for (const e of sorted) {
    if (current && e.holder !== current.holder)
      expect(
        e.at,
        `${e.holder} acquired at ${e.at} while ${current.holder} held it until ${current.expiresAt}`,
      ).toBeGreaterThanOrEqual(current.expiresAt);
    if (!current || e.holder !== current.holder || e.expiresAt > current.expiresAt) current = e;
  }
}

describe('several processes on one store', () => {
  it('lose no write when four processes write one SQLite file at once', async () => {
    const url = `sqlite:${join(dir, 'shared.db')}`;
    await (await openStore(url)).close();
    const workers = [0, 1, 2, 3].map((w) => run('concurrent-writer.mjs', [url, String(w), '150']));
    const results = await Promise.all(workers.map((w) => w.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const store = await openStore(url);
    expect(await store.inventory.count('lab')).toBe(600);
    expect(await store.audit.list()).toHaveLength(600);
    await store.close();
  });

  const leaseEngines = [
    ['sqlite', `sqlite:${join(dir, 'lease.db')}`] as const,
    ...(scratch ? [['postgres', scratch.url] as const] : []),
  ];

  it.each(leaseEngines)(
    'give the leader lease to exactly one of two processes at a time on %s',
    async (_engine, url) => {
      await (await openStore(url)).close();
      // Each stalls past the TTL after every 8th success, so the lease changes hands many times. Both
      // start together once both have opened the store, however long a busy machine takes to spawn them.
      const a = run('lease-contender.mjs', [url, 'bot-a', '3000', '200', '15', '8', 'wait']);
      const b = run('lease-contender.mjs', [url, 'bot-b', '3000', '200', '15', '8', 'wait']);
      await Promise.all([a.ready, b.ready]);
      a.go();
      b.go();
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const events = [...ra.lines, ...rb.lines];
      expect(ra.lines.length).toBeGreaterThan(8);
      expect(rb.lines.length).toBeGreaterThan(8);
      const handovers = [...events]
        .sort((x, y) => x.at - y.at)
        .filter((e, i, all) => i > 0 && all[i - 1]!.holder !== e.holder).length;
      expect(handovers).toBeGreaterThan(2);
      expectExclusive(events);
    },
  );

  it.each(leaseEngines)('hand the lease over when its holder dies on %s', async (_engine, url) => {
    const store = await openStore(url);
    await store.sync.releaseLease('sync-leader', (await store.sync.getLease('sync-leader'))?.holder ?? '');
    const a = run('lease-contender.mjs', [url, 'doomed', '10000', '400', '20']);
    const deadline = Date.now() + 60_000;
    while ((await store.sync.getLease('sync-leader'))?.holder !== 'doomed' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect((await store.sync.getLease('sync-leader'))?.holder).toBe('doomed');
    // The survivor competes for 8 s from the moment its store is open: the doomed holder's lease
    // (400 ms) expires early in that window even when the machine is busy.
    const b = run('lease-contender.mjs', [url, 'survivor', '8000', '400', '20', '0', 'wait']);
    await b.ready;
    b.go();
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGKILL');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code).toBeNull();
    const survivor = rb.lines;
    expect(survivor.length).toBeGreaterThan(0);
    const lastDoomed = Math.max(...ra.lines.map((l) => l.expiresAt));
    expect(survivor[0]!.at).toBeGreaterThanOrEqual(lastDoomed);
    expectExclusive([...ra.lines, ...survivor]);
    await store.close();
  });
});

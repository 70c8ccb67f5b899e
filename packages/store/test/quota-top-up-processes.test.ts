import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { studentUsage } from '@lab/proxmox-sdk';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const child = resolve(import.meta.dirname, 'fixtures/top-up-child.mjs');
const { engines, sharedUrl } = await sharedStores('top-ups');

/** Runs the child; resolves with its exit code and output (`onLine` sees each line as it comes). */
function run(args: string[], onLine?: (line: string, kill: () => void) => void) {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => {
    stdout += String(c);
    for (const line of String(c).split('\n').filter(Boolean)) onLine?.(line, () => proc.kill('SIGKILL'));
  });
  proc.stderr.on('data', (c: Buffer) => (stderr += String(c)));
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal, stdout, stderr })),
  );
}

describe.each(engines)('a quota top-up from two processes on one %s store', (engine) => {
  it('is applied once and audited once, also after a process was SIGKILLed inside its transaction', async () => {
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const now = Date.now();
      await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, now);
      const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, now);
      await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
      await store.usage.savePolicy({
        classId: 'cs101',
        quotaHours: 10,
        maxRunning: null,
        maxRunningInClass: null,
        idleCpuBelowPercent: null,
        idleForMinutes: null,
        keepsPerSession: 1,
        idleWarnMinutes: null,
      });
      // The first try dies with the top-up and its audit entry written but not committed.
      const killed = await run([url, 'retry-me', '5', 'hang'], (line, kill) => line === 'inside' && kill());
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      expect(await store.usage.topUps('cs101')).toEqual([]);
      expect(await store.audit.list({ action: 'quota.top-up' })).toEqual([]);
      // The retry, from two processes at once.
      const [a, b] = await Promise.all([run([url, 'retry-me', '5']), run([url, 'retry-me', '5'])]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const applied = [a, b].map(
        (r) => (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { applied: boolean }).applied,
      );
      expect(applied.sort()).toEqual([false, true]);
      expect((await store.usage.topUps('cs101')).map((t) => [t.idempotencyKey, t.hours])).toEqual([['retry-me', 5]]);
      expect(await store.audit.list({ action: 'quota.top-up' })).toHaveLength(1);
      expect((await studentUsage(store, 'cs101', alice.id, Date.now())).quotaMs).toBe(15 * 3_600_000);
    } finally {
      await store.close();
    }
  }, 60_000);
});

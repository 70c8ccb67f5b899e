import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassStartLockBusyError } from '@lab/proxmox-sdk/errors';
import { DEFAULT_LEASE_TTL_MS, classStartLockName, withClassStartLock } from '@lab/proxmox-sdk/store';
import { systemClock } from '@lab/proxmox-sdk';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const { engines, sharedUrl } = await sharedStores('start lock');

/** A process that takes the class's start lock and hangs holding it, until it is killed. */
async function holdLock(url: string, classId: string, ttlMs?: number) {
  const child = spawn(
    process.execPath,
    [join(fixtures, 'start-lock-holder.mjs'), url, classId, ...(ttlMs ? [String(ttlMs)] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((resolveHeld, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      if (String(c).includes('"held":true')) resolveHeld();
    });
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code}): ${stderr}`)));
  });
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.each(engines)('a class start lock on %s', (engine) => {
  it('stays with a live holder past its TTL, tells a waiting start who holds it, and passes on once the holder is SIGKILLed', async () => {
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const holder = await holdLock(url, 'cs101', 400);
      // The holder beats: a start waiting five TTLs is refused with a reason, not taken over.
      const told: Array<string | undefined> = [];
      const refused = await withClassStartLock(store, systemClock, 'cs101', async () => 'started', {
        ttlMs: 400,
        maxWaitMs: 2_000,
        onWait: (h) => told.push(h),
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ClassStartLockBusyError);
      expect((refused as ClassStartLockBusyError).code).toBe('LAB_START_LOCK_BUSY');
      expect((refused as Error).message).toContain(`:${holder.pid}:`);
      expect(told).toHaveLength(1);
      expect(told[0]).toContain(`:${holder.pid}:`);

      await holder.kill();
      // The dead holder stops beating; its lock is taken over once the heartbeat expires.
      await expect(
        withClassStartLock(store, systemClock, 'cs101', async () => 'started', { ttlMs: 400, maxWaitMs: 20_000 }),
      ).resolves.toBe('started');
      expect(await store.sync.getLease(classStartLockName('cs101'))).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('by default lets a dead holder keep a class start lock at most 30 s', async () => {
    const url = await sharedUrl(engine);
    const store = await openStore(url);
    try {
      const holder = await holdLock(url, 'cs102');
      const lease = await store.sync.getLease(classStartLockName('cs102'));
      expect(lease?.holder).toContain(`:${holder.pid}:`);
      expect(lease!.expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
      expect(DEFAULT_LEASE_TTL_MS).toBeLessThanOrEqual(30_000);
      await holder.kill();
    } finally {
      await store.close();
    }
  });
});

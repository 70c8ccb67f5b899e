import type { Clock } from '../ports/clock.js';
import { DEFAULT_LEASE_TTL_MS, leaseHolderId, whileHoldingLease } from '../store/lease-heartbeat.js';
import type { Store } from '../store/store.js';
import { ClassStartLockBusyError } from './schedule-errors.js';

/** How long a start waits for its class's lock, by default, before it is refused with a reason. */
export const DEFAULT_START_LOCK_WAIT_MS = 2 * 60_000;

/** Settings of a class start lock; every one has a default. */
export interface ClassStartLockOptions {
  /** How long the lock outlives its holder's last heartbeat (a crashed holder). @defaultValue 30000 */
  ttlMs?: number;
  /** How long a start waits for the lock before `ClassStartLockBusyError`. @defaultValue 120000 */
  maxWaitMs?: number;
  /** Told once, with the holder, when the start has to wait. */
  onWait?: (holder: string | undefined) => void;
}

/** Name of the store lease behind a class's start lock. */
export const classStartLockName = (classId: string): string => `class-start:${classId}`;

/**
 * Runs `fn` — a check of a class's running limits and the start it allows — while holding the
 * class's start lock, a lease in the store, so two starts of the class (in this process or another
 * on the same database) never both pass a check that only one of them may pass. The holder renews
 * the lease while `fn` runs, so a holder that died is taken over after `ttlMs`; a start that waits
 * longer than `maxWaitMs` is refused with `ClassStartLockBusyError`, naming the holder.
 */
export async function withClassStartLock<T>(
  store: Store,
  clock: Clock,
  classId: string,
  fn: () => Promise<T>,
  options: ClassStartLockOptions = {},
): Promise<T> {
  const name = classStartLockName(classId);
  const holder = leaseHolderId();
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const started = clock.now();
  const giveUpAt = started + (options.maxWaitMs ?? DEFAULT_START_LOCK_WAIT_MS);
  let pause = 20;
  let told = false;
  while (!(await store.sync.acquireLease(name, holder, ttlMs, clock.now()))) {
    if (!told) {
      told = true;
      options.onWait?.((await store.sync.getLease(name))?.holder);
    }
    if (clock.now() > giveUpAt)
      throw new ClassStartLockBusyError({
        classId,
        holder: (await store.sync.getLease(name))?.holder,
        waitedMs: clock.now() - started,
      });
    await clock.sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
  try {
    return await whileHoldingLease({ store, clock, name, holder, ttlMs }, () => fn());
  } finally {
    await store.sync.releaseLease(name, holder);
  }
}

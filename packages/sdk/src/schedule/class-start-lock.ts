import { randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../store/store.js';

/** How long one start may hold its class's lock before another process may take it over (a crash). */
const LOCK_TTL_MS = 5 * 60_000;
/** How long a start waits for its class's lock before it gives up. */
const WAIT_MS = 10 * 60_000;

/**
 * Runs `fn` — a check of a class's running limits and the start it allows — while holding the
 * class's start lock, a lease in the store, so two starts of the class (in this process or another
 * on the same database) never both pass a check that only one of them may pass.
 */
export async function withClassStartLock<T>(
  store: Store,
  clock: Clock,
  classId: string,
  fn: () => Promise<T>,
): Promise<T> {
  const name = `class-start:${classId}`;
  const holder = randomBytes(8).toString('hex');
  const giveUpAt = clock.now() + WAIT_MS;
  let pause = 20;
  while (!(await store.sync.acquireLease(name, holder, LOCK_TTL_MS, clock.now()))) {
    if (clock.now() > giveUpAt) throw new Error(`waited too long for the start lock of class ${classId}`);
    await clock.sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
  try {
    return await fn();
  } finally {
    await store.sync.releaseLease(name, holder);
  }
}

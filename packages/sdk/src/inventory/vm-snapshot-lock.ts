import type { Clock } from '../ports/clock.js';
import { DEFAULT_LEASE_TTL_MS, leaseHolderId, whileHoldingLease } from '../store/lease-heartbeat.js';
import type { Store } from '../store/store.js';
import { SnapshotBusyError } from './snapshot-errors.js';

/** How long a snapshot action waits for another one on the same VM before it is refused. */
const WAIT_MS = 60_000;

/**
 * Runs `fn` (a count check and the snapshot it allows, a restore, a delete) while holding the
 * VM's snapshot lease in the store, so two requests from any processes never both pass the
 * class's limit or race one another's PVE lock. A holder that died is taken over after the
 * lease's time to live; a request that waits longer than a minute gets `SnapshotBusyError`.
 */
export async function withVmSnapshotLock<T>(
  store: Store,
  clock: Clock,
  vm: { clusterId: string; vmid: number; name: string },
  fn: () => Promise<T>,
): Promise<T> {
  const name = `vm-snapshot:${vm.clusterId}/${vm.vmid}`;
  const holder = leaseHolderId();
  const giveUpAt = clock.now() + WAIT_MS;
  let pause = 20;
  while (!(await store.sync.acquireLease(name, holder, DEFAULT_LEASE_TTL_MS, clock.now()))) {
    if (clock.now() > giveUpAt)
      throw new SnapshotBusyError({ vm: vm.name, holder: (await store.sync.getLease(name))?.holder });
    await clock.sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
  try {
    return await whileHoldingLease({ store, clock, name, holder, ttlMs: DEFAULT_LEASE_TTL_MS }, () => fn());
  } finally {
    await store.sync.releaseLease(name, holder);
  }
}

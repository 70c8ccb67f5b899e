import type { ClusterState, StorageInstance } from './cluster-state.js';

/** Runs `work` under the storage's allocation lock, holding it `holdSeconds`, with PVE's messages and timeout. */
export async function withStorageLock(
  state: ClusterState,
  store: StorageInstance,
  log: (l: string) => void,
  holdSeconds: number,
  work: () => void,
): Promise<void> {
  const cfs = store.def.shared;
  const waited = store.lock.busy;
  if (waited) log(cfs ? `trying to acquire cfs lock 'storage-${store.def.id}' ...` : 'trying to acquire lock...');
  let release: () => void;
  try {
    release = await store.lock.acquire(state.timings.storageLockTimeoutSeconds * 1000);
  } catch {
    if (!cfs) log(' failed');
    throw new Error(
      cfs
        ? `cfs-lock 'storage-${store.def.id}' error: got lock request timeout`
        : `can't lock file '/var/lock/pve-manager/pve-storage-${store.def.id}' - got timeout`,
    );
  }
  if (waited && !cfs) log(' OK');
  try {
    await state.time.sleep(holdSeconds * 1000);
    work();
  } finally {
    release();
  }
}

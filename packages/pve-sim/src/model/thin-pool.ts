import type { StorageInstance } from './cluster-state.js';

/**
 * Frees a volume of a storage instance. On lvm-thin a linked clone is a thin snapshot
 * (`lvcreate -s`, pve-storage `LvmThinPlugin.pm` `clone_image`), and `free_image` removes a base
 * with `lvremove` even while such snapshots exist (BEHAVIOURS.md §T1): the snapshots keep working
 * and the pool keeps the blocks they share with it until the last of them is gone.
 */
export function freeVolume(store: StorageInstance, volname: string): void {
  const volume = store.volumes.get(volname);
  if (!volume) return;
  store.volumes.delete(volname);
  if (store.def.type === 'lvmthin')
    store.retained.set(volname, {
      bytes: volume.usedBytes,
      ...(volume.thinOrigin === undefined ? {} : { thinOrigin: volume.thinOrigin }),
    });
  releaseUnshared(store);
}

/** Bytes the pool holds for freed volumes that thin snapshots still share. */
export function retainedBytes(store: StorageInstance): number {
  let bytes = 0;
  for (const r of store.retained.values()) bytes += r.bytes;
  return bytes;
}

/** Drops the retained blocks no live volume (nor retained blocks that are kept) descends from. */
function releaseUnshared(store: StorageInstance): void {
  for (;;) {
    const referenced = new Set<string>();
    for (const v of store.volumes.values()) if (v.thinOrigin !== undefined) referenced.add(v.thinOrigin);
    for (const r of store.retained.values()) if (r.thinOrigin !== undefined) referenced.add(r.thinOrigin);
    const unshared = [...store.retained.keys()].filter((name) => !referenced.has(name));
    if (unshared.length === 0) return;
    for (const name of unshared) store.retained.delete(name);
  }
}

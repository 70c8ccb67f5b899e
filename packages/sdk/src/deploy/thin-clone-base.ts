import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import { readCreationMarker } from './class-ownership.js';
import type { StoredSpec } from './deployment-items.js';

/**
 * Finds the base a student VM was linked-cloned from where PVE's volume ids do not say. On lvm-thin
 * a linked clone is a thin snapshot named like any disk (`local-lvm:vm-120-disk-0`; pve-storage
 * `LvmThinPlugin.pm` `clone_image`), so neither its config nor the storage's content names the
 * base, and PVE lets the base be destroyed under it (the clone keeps working). The lab reads it
 * from its own record instead: the creation marker in the VM's description names the deployment
 * that cloned it, and that deployment's plan names the base (a deploy's `plan.base.name`, a reset's
 * `base.name`).
 */
export class ThinCloneBases {
  readonly #store: Store;
  readonly #api: PveApi;
  readonly #types = new Map<string, Promise<string | undefined>>();
  readonly #bases = new Map<string, Promise<string | undefined>>();

  constructor(store: Store, api: PveApi) {
    this.#store = store;
    this.#api = api;
  }

  /** Whether storage `storage` is lvm-thin on `node` (one read per node and storage). */
  isThin(node: string, storage: string): Promise<boolean> {
    const key = `${node}/${storage}`;
    let type = this.#types.get(key);
    if (!type) {
      type = pveResources(this.#api)
        .storage(node)
        .get(storage)
        .then((s) => s?.type);
      this.#types.set(key, type);
    }
    return type.then((t) => t === 'lvmthin');
  }

  /** The name of the base template the deployment that made this student VM cloned it from, if recorded. */
  baseNameOf(description: unknown): Promise<string | undefined> {
    const marker = readCreationMarker(description);
    if (marker?.role !== 'student') return Promise.resolve(undefined);
    let name = this.#bases.get(marker.deploymentId);
    if (!name) {
      name = this.#store.deployments.get(marker.deploymentId).then((d) => {
        const spec = d?.spec as (Partial<StoredSpec> & { base?: { name?: unknown } }) | undefined;
        const base = (spec?.plan?.base ?? spec?.base)?.name;
        return typeof base === 'string' ? base : undefined;
      });
      this.#bases.set(marker.deploymentId, name);
    }
    return name;
  }
}

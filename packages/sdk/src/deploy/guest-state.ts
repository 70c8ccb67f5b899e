import { PveHttpError } from '../errors/pve-errors.js';
import type { Clock } from '../ports/clock.js';
import type { PveApi } from '../ports/pve-api.js';
import { listVmResources } from '../templates/template-inventory.js';
import { pveResources } from '../pve/pve-resources.js';
import type { GuestConfig } from '../pve/pve-schemas.js';

/** Where a guest is and its config once no operation holds it. */
export interface GuestState {
  node: string;
  config: GuestConfig;
}

/** Thrown when a guest stays locked past the deadline (a clone or migration that does not end). */
export class GuestStillLockedError extends Error {
  constructor(
    readonly vmid: number,
    readonly lock: string,
  ) {
    super(`VM ${vmid} is still locked (${lock})`);
  }
}

/**
 * Finds guest `vmid` wherever it is and waits until no clone, migration or conversion holds it,
 * following it across nodes (a migration moves its config). Undefined when it does not exist.
 * With `node` (where the guest should be), it polls that node's config and asks
 * the cluster's resources only when the guest is not there.
 */
export async function settledGuest(
  api: PveApi,
  vmid: number,
  options: { clock: Clock; pollIntervalMs: number; deadline: number; node?: string },
): Promise<GuestState | undefined> {
  let node = options.node;
  for (;;) {
    if (node === undefined) {
      const resource = (await listVmResources(api)).find((r) => r.vmid === vmid && r.type === 'qemu');
      if (!resource) return undefined;
      node = resource.node;
    }
    const config = await pveResources(api)
      .qemu(node, vmid)
      .config()
      .catch((error: unknown) => {
        // Moved (migration finished), not on the node we guessed, or gone: look it up again.
        if (error instanceof PveHttpError && /does not exist|unable to find configuration/i.test(error.pveMessage))
          return undefined;
        throw error;
      });
    if (config && config.lock === undefined) return { node, config };
    if (!config) node = undefined;
    if (options.clock.now() >= options.deadline)
      throw new GuestStillLockedError(vmid, String(config?.lock ?? 'moving'));
    if (config) await options.clock.sleep(options.pollIntervalMs);
  }
}

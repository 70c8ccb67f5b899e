import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import { net0WithBridge, vmNetworkOf } from '../network/vm-network.js';
import type { ConfigureStudentVm } from './vm-reset.js';

/**
 * The per-student step that puts a VM of a class with networks (`ClassNetworks.ensure`) on its
 * VNet before it first boots: `net0` gets `bridge=<vnet>` (the student's, or the class's; for a
 * teacher VM, `role: 'teacher'`, the teachers' network or the class's), then
 * `next` runs (cloud-init). A class without network records keeps the template's bridge, so
 * today's classes are unchanged. Idempotent: a resumed deployment sets the same value again.
 */
export function networkStep(deps: { store: Store; logger?: Logger }, next?: ConfigureStudentVm): ConfigureStudentVm {
  return async (api: PveApi, input) => {
    const teacher = input.role === 'teacher';
    const person = input.personId === null || teacher ? undefined : await deps.store.classes.getPerson(input.personId);
    const network = await vmNetworkOf(deps.store, input.clusterId, input.classId, person?.username ?? null, {
      teacher,
    });
    let config = input.config;
    if (network) {
      const net0 = net0WithBridge(config.net0, network.objectId);
      if (config.net0 !== net0) {
        // `net[n]` keys are indexed in PVE's schema, so the generated params do not name them.
        const patch: Record<string, string> = { net0 };
        await pveResources(api).qemu(input.node, input.vmid).updateConfig(patch);
        deps.logger?.info('VM put on its class network', { vmid: input.vmid, vnet: network.objectId });
        config = { ...config, net0 };
      }
    }
    return next ? next(api, { ...input, config }) : config;
  };
}

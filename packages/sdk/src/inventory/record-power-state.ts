import type { EpochMs, VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * Records in the store, at once, the power state one of our own actions left a VM in (a power
 * action, a reset's start, a publish's restart of the teacher VM) once its PVE task succeeded: the
 * inventory row's status (a stopped VM has no address; a started one has its address read again)
 * and its running interval in the usage ledger, which the sync would otherwise only see later.
 * `patch` adds fields the caller knows (the node it found the VM on).
 */
export async function recordPowerState(
  store: Store,
  vm: { clusterId: string; vmid: number },
  status: 'running' | 'stopped',
  at: EpochMs,
  patch: Partial<Omit<VmInventoryRecord, 'clusterId' | 'vmid'>> = {},
): Promise<void> {
  const stopped = status === 'stopped';
  await store.inventory.update(vm.clusterId, vm.vmid, {
    status,
    lastUpdated: at,
    ...(stopped ? { ip: null, sshAvailable: false, rdpAvailable: false, uptime: 0 } : { lastStatusCheck: null }),
    ...patch,
  });
  if (stopped) await store.usage.closeInterval(vm.clusterId, vm.vmid, at);
  else await store.usage.openInterval(vm.clusterId, vm.vmid, at);
}

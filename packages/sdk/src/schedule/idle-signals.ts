import type { ClusterApis } from '../ports/cluster-apis.js';
import { pveResources } from '../pve/pve-resources.js';
import type { ClassTimePolicyRecord, EpochMs, VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * What made the scheduler call a VM idle: its CPU below the class's threshold, nobody logged in
 * (the guest agent's `get-users`), or nobody connected since it started.
 */
export type IdleSignal = 'cpu' | 'users' | 'never-connected';

/** Whether a console session of ours is open on the VM now (its `console-vm:` lease is live). */
export async function consoleIsOpen(
  store: Store,
  vm: { clusterId: string; vmid: number },
  now: EpochMs,
): Promise<boolean> {
  return (await store.sync.liveLeases(`console-vm:${vm.clusterId}/${vm.vmid}:`, now)).length > 0;
}

/**
 * How many users are logged in to the VM, as its guest agent says; undefined when the agent does not
 * answer (not configured, not running yet, an error), so the signal says nothing.
 */
export async function loggedInUsers(clusters: ClusterApis, vm: VmInventoryRecord): Promise<number | undefined> {
  if (vm.type !== 'qemu') return undefined;
  try {
    const answer = await pveResources(clusters.get(vm.clusterId)).qemu(vm.node, vm.vmid).agentUsers();
    return Array.isArray(answer.result) ? answer.result.length : undefined;
  } catch {
    return undefined;
  }
}

/** The signals in words for a warning or an audit reason: `below 5% CPU and nobody logged in`. */
export function describeIdleSignals(signals: readonly IdleSignal[], policy: ClassTimePolicyRecord): string {
  const words: Record<IdleSignal, string> = {
    cpu: `below ${policy.idleCpuBelowPercent ?? 0}% CPU`,
    users: 'nobody logged in',
    'never-connected': `nobody connected within ${policy.neverConnectedMinutes ?? 0} min of its start`,
  };
  return signals.map((s) => words[s]).join(' and ');
}

/** The store key of a VM run's never-connected state (`startedAt` of its open usage interval). */
export const neverConnectedKey = (vm: { clusterId: string; vmid: number }, startedAt: EpochMs): string =>
  `never-connected:${vm.clusterId}/${vm.vmid}:${startedAt}`;

/** A VM run's never-connected state as the store keeps it (a nonce). */
export type NeverConnectedState =
  { connected: true } | { connected?: false; warnedAt: EpochMs; delivered: boolean; teachersTold?: number };

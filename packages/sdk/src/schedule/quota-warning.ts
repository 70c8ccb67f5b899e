import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';

/** The quota warning of one running interval of a VM, as the store keeps it (a nonce). */
export interface QuotaWarning {
  warnedAt: EpochMs;
  /** False when the owner had no chat account to warn (older records have none: delivered). */
  delivered?: boolean;
  /** With `delivered` false: how many of the class's teachers were warned instead. */
  teachersTold?: number;
}

/** The store key of the quota warning of a VM's running interval (`startedAt` of its open usage interval). */
export const quotaWarnedKey = (vm: { clusterId: string; vmid: number }, startedAt: EpochMs): string =>
  `quota-warned:${vm.clusterId}/${vm.vmid}:${startedAt}`;

/** How long a quota warning is remembered. */
export const QUOTA_WARNING_TTL_MS = 7 * 86_400_000;

/** The pending quota warning of the VM's current run, if any (read without using it up). */
export async function pendingQuotaWarning(
  store: Store,
  vm: { clusterId: string; vmid: number },
  now: EpochMs,
): Promise<QuotaWarning | undefined> {
  const open = (await store.usage.intervals([vm], now)).find((i) => i.endedAt === null);
  if (!open) return undefined;
  const key = quotaWarnedKey(vm, open.startedAt);
  const warned = (await store.nonces.take(key, now)) as QuotaWarning | undefined;
  if (warned) await store.nonces.put(key, warned, now + QUOTA_WARNING_TTL_MS, now);
  return warned;
}

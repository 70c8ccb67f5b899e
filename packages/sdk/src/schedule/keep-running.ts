import { LabError } from '../errors/lab-error.js';
import { NotAllowedError } from '../inventory/inventory-errors.js';
import { denialReason, type Viewer } from '../inventory/viewer.js';
import type { EpochMs } from '../store/records.js';
import type { Store } from '../store/store.js';
import { sessionsBetween } from './schedule-spec.js';

/** `/myvm keep` was used already since the last session boundary. */
export class KeepAlreadyUsedError extends LabError {
  static override readonly brand: string = '@lab/KeepAlreadyUsedError';
  static override readonly code: string = 'LAB_KEEP_USED';
  constructor(facts: { vm: string; keptAt: EpochMs }) {
    super(KeepAlreadyUsedError.code, `${facts.vm} was already kept running at ${new Date(facts.keptAt).toISOString()}, and that works once per session; use it or save your work before it stops`, facts);
  }
}

/**
 * Keeps a VM running past its idle warning (`/myvm keep`): its idle time starts again now. Once
 * per session: a second keep before a session of its class begins or ends → `KeepAlreadyUsedError`.
 */
export async function keepVmRunning(store: Store, viewer: Viewer, clusterId: string, vmid: number, now: EpochMs): Promise<{ postponed: boolean }> {
  const assignment = await store.classes.assignment(clusterId, vmid);
  const reason = await denialReason(store, viewer, assignment);
  const vm = await store.inventory.get(clusterId, vmid);
  if (reason) throw new NotAllowedError({ actor: viewer.username, action: 'keep', target: `VM ${vmid}`, reason });
  const record = await store.usage.idle(clusterId, vmid);
  if (record?.keptAt != null && assignment?.classId) {
    const schedules = await store.schedules.list(assignment.classId);
    const boundary = schedules.flatMap((s) => sessionsBetween(s, record.keptAt!, now)).some((s) => (s.warmupAt > record.keptAt! && s.warmupAt <= now) || (s.end > record.keptAt! && s.end <= now));
    if (!boundary) throw new KeepAlreadyUsedError({ vm: vm?.name ?? `VM ${vmid}`, keptAt: record.keptAt });
  }
  await store.usage.saveIdle({ clusterId, vmid, idleSince: now, warnedAt: null, keptAt: now });
  await store.audit.record({ at: now, actor: viewer.username, action: 'vm.keep', target: `${clusterId}/${vmid}`, outcome: 'ok', details: { wasWarned: record?.warnedAt != null } });
  return { postponed: record?.warnedAt != null };
}

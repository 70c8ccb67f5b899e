import type { Store } from '../store/store.js';
import type { SdnObjectRecord } from '../store/sdn-repository.js';
import { TEACHERS_NETWORK } from './class-networks.js';
import { ClassNetworkMissingError } from './network-errors.js';

/**
 * The `net0` value that puts a VM on `bridge` (a VNet id): the template's model, MAC and options
 * kept, `bridge=` replaced and any `tag=` dropped (the VNet carries the tag). Without a `net0`,
 * `virtio,bridge=<bridge>`.
 * @example net0WithBridge('virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20', 'labab12c') // → 'virtio=BC:24:11:00:00:01,bridge=labab12c,firewall=1'
 */
export function net0WithBridge(current: unknown, bridge: string): string {
  if (typeof current !== 'string' || current.trim() === '') return `virtio,bridge=${bridge}`;
  const parts = current.split(',').filter((p) => !p.startsWith('tag=') && !p.startsWith('bridge='));
  const [model, ...rest] = parts;
  return [model ?? 'virtio', `bridge=${bridge}`, ...rest].join(',');
}

/** The bridge a VM in `current` `net0` is on, if any. */
export function net0Bridge(current: unknown): string | undefined {
  return typeof current === 'string' ? /(?:^|,)bridge=([^,]+)/.exec(current)?.[1] : undefined;
}

/**
 * The VNet a VM of `student` in `classId` belongs on, from the store: the student's own in a
 * per-student class, the class's in a class-wide one; undefined for a class without networks (it
 * keeps the template's bridge). `teacher`: the VM is a teacher VM (the teachers' network of a
 * per-student class, the class's of a class-wide one). A class with networks but none applied for the student →
 * `ClassNetworkMissingError`, so no VM boots onto a network that is not there.
 */
export async function vmNetworkOf(
  store: Store,
  clusterId: string,
  classId: string,
  student: string | null,
  options: { teacher?: boolean } = {},
): Promise<SdnObjectRecord | undefined> {
  const records = (await store.sdn.list(clusterId, { classId })).filter((r) => r.kind === 'vnet');
  if (records.length === 0) return undefined;
  const perStudent = records.some((r) => r.student !== null);
  // A teacher VM of a per-student class goes on the teachers' network, in a class-wide one on the
  // class's; networks built without one for the teachers (before it existed) leave it on its bridge.
  const key = options.teacher ? TEACHERS_NETWORK : student;
  if (options.teacher && perStudent && !records.some((r) => r.student === TEACHERS_NETWORK)) return undefined;
  const record = perStudent ? records.find((r) => r.student === key && key !== null) : records[0];
  if (!record) throw new ClassNetworkMissingError({ classId, student: key });
  if (record.state !== 'applied') throw new ClassNetworkMissingError({ classId, student: key, state: record.state });
  return record;
}

import type { VmInventoryRecord } from './records.js';

/** The fields of an inventory row that its sync key covers: those a VM's listing in `/cluster/resources` gives. */
export type VmSyncKeyFields = Pick<
  VmInventoryRecord,
  'name' | 'node' | 'status' | 'type' | 'memory' | 'cores' | 'diskSize' | 'isTemplate' | 'tags'
>;

/**
 * A VM's sync key: a 53-bit hash of the fields of its row that the cluster's listing gives. A
 * store keeps it with every row it writes (and forgets it when a change to one of those fields
 * does not come with the whole row), so a quick sync compares one number per VM instead of
 * reading each field. Rows whose fields differ have different keys but for a chance of about one
 * in 9×10^15 per change; a full sync compares whole rows, so even that is put right by the next one.
 */
export function vmSyncKey(fields: VmSyncKeyFields): number {
  // Each text field carries its length, so no two sets of fields make the same text.
  const { name, node, status, tags } = fields;
  return hash53(
    `${name.length}:${name}${node.length}:${node}${status.length}:${status}${fields.type}/${fields.memory}/${fields.cores}/${fields.diskSize}/${fields.isTemplate ? 1 : 0}/${tags.length}:${tags}`,
  );
}

/**
 * cyrb53 (bryc, public domain): a fast, well-mixed 53-bit string hash. Written here rather than
 * taken from a package: it is a dozen lines on a sync's hot path (100,000 calls a quick sync),
 * where a native or WebAssembly hash costs more per call than it saves.
 */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The bits of `VmSyncKeyRow.flags`: what a sync needs of a stored row beyond its key. */
export const VM_SYNC_FLAGS = {
  /** The row is marked gone. */
  gone: 1,
  /** Its status is `running`. */
  running: 2,
  /** It has a guest address. */
  ip: 4,
  /** RDP answered. */
  rdp: 8,
  /** SSH answered. */
  ssh: 16,
} as const;

/** The `VM_SYNC_FLAGS` bits of a whole row (a store may compute them in its query instead). */
export function vmSyncFlags(
  row: Pick<VmInventoryRecord, 'goneAt' | 'status' | 'ip' | 'rdpAvailable' | 'sshAvailable'>,
): number {
  return (
    (row.goneAt !== null ? VM_SYNC_FLAGS.gone : 0) |
    (row.status === 'running' ? VM_SYNC_FLAGS.running : 0) |
    (row.ip !== null ? VM_SYNC_FLAGS.ip : 0) |
    (row.rdpAvailable ? VM_SYNC_FLAGS.rdp : 0) |
    (row.sshAvailable ? VM_SYNC_FLAGS.ssh : 0)
  );
}

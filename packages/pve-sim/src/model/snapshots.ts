import type { SimGuest } from './types.js';

/** One snapshot of a VM: its name, when, and the config it froze. */
export interface SimSnapshot {
  name: string;
  description: string;
  snaptime: number;
  vmstate: boolean;
  parent?: string;
  config: Record<string, string>;
}

const byGuest = new WeakMap<SimGuest, Map<string, SimSnapshot>>();

/** The snapshots of a guest, oldest first (the map is live). */
export function snapshotsOf(guest: SimGuest): Map<string, SimSnapshot> {
  let map = byGuest.get(guest);
  if (!map) {
    map = new Map();
    byGuest.set(guest, map);
  }
  return map;
}

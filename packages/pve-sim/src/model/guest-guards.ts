import { die } from '../sim-error.js';
import type { ClusterState } from './cluster-state.js';
import type { SimGuest } from './types.js';

/** PVE refuses most operations on a locked guest (`VM is locked (clone)`) unless `skiplock` is set. */
export function checkLock(guest: SimGuest, skiplock = false): void {
  const lock = guest.config.lock;
  if (lock && !skiplock) throw die(`VM is locked (${lock})`);
}

/** A request proxied to an offline node fails as PVE's proxy does. */
export function checkNodeOnline(state: ClusterState, node: string): void {
  const host = state.requireNode(node);
  if (!host.online) throw die(`595 Errors during connection establishment, proxy handshake: No route to host`);
}

import { ProxmoxClient } from '../client/proxmox-client.js';
import type { ProxmoxClientOptions } from '../client/client-options.js';

/**
 * What a client needs to reach a PVE simulator (or a test cluster): `@lab/pve-sim`'s `PveSim`
 * fits, typed structurally so this package does not depend on the simulator.
 */
export interface SimEndpoint {
  url: string;
  tokenId: string;
  tokenSecret: string;
  /** The SHA-256 fingerprint of the server certificate, pinned by the client. */
  fingerprint: string;
}

/**
 * A `ProxmoxClient` for `sim`: token auth, the certificate pinned, cluster id `lab` and short
 * retry delays so fault tests do not wait. `overrides` replace any of these.
 */
export function clientForSim(sim: SimEndpoint, overrides: Partial<ProxmoxClientOptions> = {}): ProxmoxClient {
  return new ProxmoxClient({
    clusterId: 'lab',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    ...overrides,
  });
}

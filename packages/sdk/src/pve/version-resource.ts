import type { PveApi } from '../ports/pve-api.js';
import { callEndpoint } from './pve-endpoint.js';
import { versionSchema, type PveVersionInfo } from './pve-schemas.js';

/** `GET /version`: the cluster's Proxmox VE version (`9.1.3`), release and repository id. */
export function readPveVersion(api: PveApi): Promise<PveVersionInfo> {
  return callEndpoint(api, 'GET /version', {}, undefined, { schema: versionSchema, idempotent: true });
}

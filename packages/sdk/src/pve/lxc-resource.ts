import type { PveApi } from '../ports/pve-api.js';
import { callEndpoint } from './pve-endpoint.js';
import { guestConfigSchema, type GuestConfig } from './pve-schemas.js';

/** One container: `/nodes/{node}/lxc/{vmid}/…` (the SDK only reads its config). */
export class PveLxc {
  readonly #api: PveApi;
  readonly node: string;
  readonly vmid: number;

  constructor(api: PveApi, node: string, vmid: number) {
    this.#api = api;
    this.node = node;
    this.vmid = vmid;
  }

  /** `GET …/lxc/{vmid}/config`. @throws `PveHttpError` (500 "does not exist") when the container is not there */
  config(): Promise<GuestConfig> {
    return callEndpoint(
      this.#api,
      'GET /nodes/{node}/lxc/{vmid}/config',
      { node: this.node, vmid: this.vmid },
      undefined,
      { schema: guestConfigSchema, idempotent: true },
    );
  }
}

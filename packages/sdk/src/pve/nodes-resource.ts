import type { PveApi } from '../ports/pve-api.js';
import { callEndpoint } from './pve-endpoint.js';
import { guestEntrySchema, nodeEntrySchema, type GuestEntry, type NodeEntry } from './pve-schemas.js';

const nodesSchema = nodeEntrySchema.array();
const guestsSchema = guestEntrySchema.array();

/** Node lists: `/nodes` and each node's guests. All reads. */
export class PveNodes {
  readonly #api: PveApi;

  constructor(api: PveApi) {
    this.#api = api;
  }

  /** `GET /nodes`: the cluster's nodes and whether each is online. */
  list(): Promise<NodeEntry[]> {
    return callEndpoint(this.#api, 'GET /nodes', {}, undefined, { schema: nodesSchema, idempotent: true });
  }

  /** `GET /nodes/{node}/qemu`: the QEMU guests on `node`. */
  qemu(node: string): Promise<GuestEntry[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/qemu', { node }, undefined, {
      schema: guestsSchema,
      idempotent: true,
    });
  }

  /** `GET /nodes/{node}/lxc`: the containers on `node`. */
  lxc(node: string): Promise<GuestEntry[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/lxc', { node }, undefined, {
      schema: guestsSchema,
      idempotent: true,
    });
  }
}

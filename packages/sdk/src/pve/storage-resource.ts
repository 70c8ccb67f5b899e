import type { PveApi } from '../ports/pve-api.js';
import type { StorageListParams } from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import { storageEntrySchema, type StorageEntry } from './pve-schemas.js';

const storagesSchema = storageEntrySchema.array();

/** The storages one node sees: `GET /nodes/{node}/storage`. Reads only. */
export class PveStorage {
  readonly #api: PveApi;
  readonly node: string;

  constructor(api: PveApi, node: string) {
    this.#api = api;
    this.node = node;
  }

  /** The node's storages, filtered by `params` (e.g. `{ storage: 'local-lvm' }`). */
  list(params?: StorageListParams): Promise<StorageEntry[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/storage', { node: this.node }, params, {
      schema: storagesSchema,
      idempotent: true,
    });
  }

  /** Storage `id` as this node sees it, or `undefined` when the node has none by that name. */
  async get(id: string): Promise<StorageEntry | undefined> {
    return (await this.list({ storage: id })).find((s) => s.storage === id);
  }
}

import type { PveApi } from '../ports/pve-api.js';
import type { AccessPermissionsParams } from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import { permissionsSchema, type PermissionMap } from './pve-schemas.js';

/** Access control: `/access/…`. */
export class PveAccess {
  readonly #api: PveApi;

  constructor(api: PveApi) {
    this.#api = api;
  }

  /** `GET /access/permissions`: the caller's (or `userid`'s) privileges by ACL path. */
  permissions(params?: AccessPermissionsParams): Promise<PermissionMap> {
    return callEndpoint(this.#api, 'GET /access/permissions', {}, params, {
      schema: permissionsSchema,
      idempotent: true,
    });
  }
}

import type { Principal } from '../http/auth.js';
import type { AccessControl } from '../model/access-control.js';
import type { ClusterState } from '../model/cluster-state.js';
import type { GuestOperations } from '../model/guest-operations.js';
import type { SchemaIndex } from '../schema/schema-index.js';
import type { SimAuth } from '../http/auth.js';
import type { VncProxies } from '../model/vnc-proxies.js';

/** What a route handler can reach. */
export interface SimContext {
  state: ClusterState;
  ops: GuestOperations;
  auth: SimAuth;
  /** The permission model every request is checked against. */
  access: AccessControl;
  schema: SchemaIndex;
  /** The PVE version simulated (`9.1.3`): some answers differ by version. */
  pveVersion: string;
  /** VNC proxies started by `vncproxy`, and their tickets. */
  vnc: VncProxies;
  /** PEM of the CA, as `vncproxy` answers it (`cert`). */
  caPem: string;
}

/** One request as a handler sees it: schema-checked parameters (path ones included). */
export interface RouteRequest {
  params: Record<string, unknown>;
  principal: Principal;
}

/** A handler returns the `data` of PVE's envelope. */
export type RouteHandler = (req: RouteRequest, ctx: SimContext) => unknown;

/** Routes keyed by `METHOD schema-template`. */
export type RouteTable = Map<string, RouteHandler>;

/** Adds a route for `method` on schema path `template`. */
export function route(table: RouteTable, method: string, template: string, handler: RouteHandler): void {
  table.set(`${method} ${template}`, handler);
}

/** A handler's answer with extra top-level keys beside `data` (PVE's `set_result_attrib`, e.g. `total`). */
export class WithAttributes {
  constructor(
    readonly data: unknown,
    readonly attributes: Record<string, unknown>,
  ) {}
}

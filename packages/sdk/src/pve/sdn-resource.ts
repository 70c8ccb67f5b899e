import { z } from 'zod';
import type { PveApi } from '../ports/pve-api.js';
import type {
  SdnSubnetCreateParams,
  SdnVnetCreateParams,
  SdnZoneCreateParams,
  SdnZoneListParams,
} from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import { nullSchema, upidSchema } from './pve-schemas.js';

/**
 * The state pve-network gives an object of the pending configuration (`?pending=1`): `new` (not yet
 * applied), `changed`, `deleted` (removed, still running until the next apply); absent when the
 * pending and running configurations agree (pve-network `src/PVE/Network/SDN.pm` `pending_config`).
 */
export type SdnPendingState = 'new' | 'changed' | 'deleted';

const pendingState = z.enum(['new', 'changed', 'deleted']).optional();
const pveBool = z.union([z.boolean(), z.number(), z.string()]).transform((v) => v === true || v === 1 || v === '1');

/** One SDN zone as `GET /cluster/sdn/zones` lists it. */
export const sdnZoneSchema = z
  .object({
    zone: z.string(),
    type: z.string(),
    state: pendingState,
    dhcp: z.string().optional(),
    bridge: z.string().optional(),
    ipam: z.string().optional(),
    pending: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type SdnZoneEntry = z.infer<typeof sdnZoneSchema>;

/** One VNet as `GET /cluster/sdn/vnets` lists it (`zone` may sit in `pending` only for a new one). */
export const sdnVnetSchema = z
  .object({
    vnet: z.string(),
    zone: z.string().optional(),
    tag: z.number().optional(),
    alias: z.string().optional(),
    state: pendingState,
    pending: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type SdnVnetEntry = z.infer<typeof sdnVnetSchema>;

/**
 * One subnet as `GET /cluster/sdn/vnets/{vnet}/subnets` lists it: `subnet` is its id
 * (`<zone>-<network>-<mask>`, pve-network `Subnets.pm`), `cidr` its network.
 */
export const sdnSubnetSchema = z
  .object({
    subnet: z.string(),
    vnet: z.string().optional(),
    zone: z.string().optional(),
    cidr: z.string().optional(),
    gateway: z.string().optional(),
    snat: pveBool.optional(),
    state: pendingState,
    pending: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type SdnSubnetEntry = z.infer<typeof sdnSubnetSchema>;

/**
 * A zone's status on one node (`GET /nodes/{node}/sdn/zones`, pve-network `Zones.pm` `status`):
 * `available` once that node's reload generated it, `pending` while the node's configuration is
 * older than the running one, `error` when a VNet of it could not be generated there.
 */
export const sdnNodeZoneStatusSchema = z.object({ zone: z.string(), status: z.string() }).loose();
export type SdnNodeZoneStatus = z.infer<typeof sdnNodeZoneStatusSchema>;

/** A VNet's status on one node (`GET /nodes/{node}/sdn/zones/{zone}/content`); `statusmsg` is null when available. */
export const sdnNodeVnetStatusSchema = z
  .object({ vnet: z.string(), status: z.string().nullish(), statusmsg: z.string().nullish() })
  .loose();
export type SdnNodeVnetStatus = z.infer<typeof sdnNodeVnetStatusSchema>;

/** The id pve-network gives a subnet `cidr` of `zone`: `zone-10.200.0.0-24` (pve-network `SubnetPlugin.pm` `parse_sdn_subnet_id` reads it back). */
export function sdnSubnetId(zone: string, cidr: string): string {
  return `${zone}-${cidr.replace('/', '-')}`;
}

/**
 * Whether `id` is a valid SDN zone or VNet id: pve-network's `pve-sdn-zone-id` and `pve-sdn-vnet-id`
 * (`src/PVE/Network/SDN/Zones/Plugin.pm`, `VnetPlugin.pm`): a letter, then letters or digits, 2 to 8
 * characters.
 */
export function isSdnObjectId(id: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]$/.test(id) && id.length >= 2 && id.length <= 8;
}

/** What is not applied yet: every zone, VNet and subnet whose pending state is set. */
export interface SdnPendingChanges {
  zones: SdnZoneEntry[];
  vnets: SdnVnetEntry[];
  subnets: SdnSubnetEntry[];
}

/**
 * PVE's software-defined networking, `/cluster/sdn/…`: zones, VNets and their subnets. Writes change
 * the pending configuration only; `apply()` (`PUT /cluster/sdn`) starts the task that makes it run
 * on every node (await it with `waitForTask`). Reads may be retried; creates, deletes and the apply
 * are never repeated blindly (a create whose answer was lost is found again by a read).
 *
 * @example
 * ```ts
 * const sdn = pveResources(client).sdn;
 * await sdn.createVnet({ vnet: 'labab12', zone: 'labz', type: 'vnet' });
 * await sdn.createSubnet('labab12', { subnet: '10.200.3.0/24', type: 'subnet', gateway: '10.200.3.1', snat: true });
 * await waitForTask(client, await sdn.apply());
 * ```
 */
export class PveSdn {
  readonly #api: PveApi;

  constructor(api: PveApi) {
    this.#api = api;
  }

  /** `GET /cluster/sdn/zones` (`pending: true` lists the pending configuration with each zone's `state`). */
  zones(params?: SdnZoneListParams): Promise<SdnZoneEntry[]> {
    return callEndpoint(this.#api, 'GET /cluster/sdn/zones', {}, params, {
      schema: sdnZoneSchema.array(),
      idempotent: true,
    });
  }

  /** `POST /cluster/sdn/zones`: a zone in the pending configuration. */
  async createZone(params: SdnZoneCreateParams): Promise<void> {
    await callEndpoint(this.#api, 'POST /cluster/sdn/zones', {}, params, { schema: nullSchema, idempotent: false });
  }

  /** `DELETE /cluster/sdn/zones/{zone}` (PVE refuses while a VNet of it remains). */
  async deleteZone(zone: string): Promise<void> {
    await callEndpoint(this.#api, 'DELETE /cluster/sdn/zones/{zone}', { zone }, undefined, {
      schema: nullSchema,
      idempotent: false,
    });
  }

  /** `GET /cluster/sdn/vnets` (`pending: true` as for zones). */
  vnets(params?: { pending?: boolean; running?: boolean }): Promise<SdnVnetEntry[]> {
    return callEndpoint(this.#api, 'GET /cluster/sdn/vnets', {}, params, {
      schema: sdnVnetSchema.array(),
      idempotent: true,
    });
  }

  /** `POST /cluster/sdn/vnets`: a VNet in the pending configuration. */
  async createVnet(params: SdnVnetCreateParams): Promise<void> {
    await callEndpoint(this.#api, 'POST /cluster/sdn/vnets', {}, params, { schema: nullSchema, idempotent: false });
  }

  /** `DELETE /cluster/sdn/vnets/{vnet}` (PVE refuses while a subnet of it remains). */
  async deleteVnet(vnet: string): Promise<void> {
    await callEndpoint(this.#api, 'DELETE /cluster/sdn/vnets/{vnet}', { vnet }, undefined, {
      schema: nullSchema,
      idempotent: false,
    });
  }

  /** `GET /cluster/sdn/vnets/{vnet}/subnets` (`pending: true` as for zones). */
  subnets(vnet: string, params?: { pending?: boolean; running?: boolean }): Promise<SdnSubnetEntry[]> {
    return callEndpoint(this.#api, 'GET /cluster/sdn/vnets/{vnet}/subnets', { vnet }, params, {
      schema: sdnSubnetSchema.array(),
      idempotent: true,
    });
  }

  /** `POST /cluster/sdn/vnets/{vnet}/subnets`: `params.subnet` is the CIDR (`10.200.3.0/24`). */
  async createSubnet(vnet: string, params: SdnSubnetCreateParams): Promise<void> {
    await callEndpoint(this.#api, 'POST /cluster/sdn/vnets/{vnet}/subnets', { vnet }, params, {
      schema: nullSchema,
      idempotent: false,
    });
  }

  /** `DELETE /cluster/sdn/vnets/{vnet}/subnets/{subnet}`: `subnet` is the id (`sdnSubnetId`). */
  async deleteSubnet(vnet: string, subnet: string): Promise<void> {
    await callEndpoint(this.#api, 'DELETE /cluster/sdn/vnets/{vnet}/subnets/{subnet}', { vnet, subnet }, undefined, {
      schema: nullSchema,
      idempotent: false,
    });
  }

  /**
   * Everything of the pending configuration not applied yet (zones, VNets, and the subnets of every
   * VNet, new, changed or deleted), from `?pending=1` reads.
   */
  async pending(): Promise<SdnPendingChanges> {
    const zones = await this.zones({ pending: true });
    const vnets = await this.vnets({ pending: true });
    const subnets: SdnSubnetEntry[] = [];
    for (const v of vnets) {
      // A VNet deleted in the pending configuration has no subnets left (PVE refuses the delete
      // otherwise), and PVE no longer answers for its subnets.
      if (v.state === 'deleted') continue;
      subnets.push(...(await this.subnets(v.vnet, { pending: true })).filter((s) => s.state !== undefined));
    }
    return {
      zones: zones.filter((z) => z.state !== undefined),
      vnets: vnets.filter((v) => v.state !== undefined),
      subnets,
    };
  }

  /** `GET /nodes/{node}/sdn/zones`: each zone's status on `node` (zones limited to other nodes are not listed). */
  async nodeZones(node: string): Promise<SdnNodeZoneStatus[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/sdn/zones', { node }, undefined, {
      schema: sdnNodeZoneStatusSchema.array(),
      idempotent: true,
    });
  }

  /** `GET /nodes/{node}/sdn/zones/{zone}/content`: each VNet of `zone` on `node`, with its status and message. */
  async nodeZoneContent(node: string, zone: string): Promise<SdnNodeVnetStatus[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/sdn/zones/{zone}/content', { node, zone }, undefined, {
      schema: sdnNodeVnetStatusSchema.array(),
      idempotent: true,
    });
  }

  /**
   * `PUT /cluster/sdn`: applies the pending configuration on every node; resolves to the task's UPID.
   * Applying twice is harmless, but the call starts a task, so the client never resends it blindly.
   */
  apply(): Promise<string> {
    return callEndpoint(this.#api, 'PUT /cluster/sdn', {}, undefined, { schema: upidSchema, idempotent: false });
  }
}

import { PveHttpError } from '../errors/pve-errors.js';
import type { PveApi } from '../ports/pve-api.js';
import type {
  ClusterBulkShutdownParams,
  ClusterBulkStartParams,
  ClusterNextIdParams,
  ClusterResourcesParams,
} from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import {
  clusterResourcesSchema,
  nextIdSchema,
  upidSchema,
  type ClusterResourceEntry,
  type VmResource,
} from './pve-schemas.js';

/** The path of the cluster's resource list, for messages that name it. */
export const CLUSTER_RESOURCES_PATH = '/cluster/resources';

/** Cluster-wide calls: `/cluster/resources`, `/cluster/nextid` (reads, which may be retried) and PVE 9's bulk actions. */
export class PveCluster {
  readonly #api: PveApi;

  constructor(api: PveApi) {
    this.#api = api;
  }

  /**
   * `GET /cluster/resources`: nodes, guests and storages with their usage, in one request. An
   * answer with an entry that cannot be trusted (see `clusterResourcesSchema`) is refused whole.
   * @throws `PveHttpError`, `PveConnectionError`, `PveTimeoutError`, `PveResponseShapeError`
   */
  resources(params?: ClusterResourcesParams): Promise<ClusterResourceEntry[]> {
    return callEndpoint(this.#api, 'GET /cluster/resources', {}, params, {
      schema: clusterResourcesSchema,
      idempotent: true,
    });
  }

  /**
   * The guests of the cluster (`GET /cluster/resources?type=vm`), each with its node and VMID.
   * @example
   * ```ts
   * const running = (await pveResources(client).cluster.vms()).filter((vm) => vm.status === 'running');
   * ```
   */
  async vms(): Promise<VmResource[]> {
    const all = await this.resources({ type: 'vm' });
    return all.filter((r): r is VmResource => r.node !== undefined && r.vmid !== undefined);
  }

  /**
   * A VMID free as far as PVE knows now (`GET /cluster/nextid`); it reserves nothing.
   * @throws `PveHttpError` and the transport errors
   */
  nextId(params?: ClusterNextIdParams): Promise<number> {
    return callEndpoint(this.#api, 'GET /cluster/nextid', {}, params, { schema: nextIdSchema, idempotent: true });
  }

  /**
   * Whether `vmid` is unused (`GET /cluster/nextid?vmid=N` answers 400 for a taken one).
   * @throws any error other than PVE's "VMID taken" answer
   */
  async isVmidFree(vmid: number): Promise<boolean> {
    try {
      await this.nextId({ vmid });
      return true;
    } catch (error) {
      if (error instanceof PveHttpError && error.status === 400 && error.errors.vmid) return false;
      throw error;
    }
  }

  /**
   * `POST /cluster/bulk-action/guest/start` (PVE 9, pve-manager 9.0.13+): one `bulk-start` task that
   * starts the listed guests, at most `max-workers` at a time; resolves to its UPID. Older PVE
   * answers 501.
   */
  bulkStart(params: ClusterBulkStartParams): Promise<string> {
    return callEndpoint(this.#api, 'POST /cluster/bulk-action/guest/start', {}, params, {
      schema: upidSchema,
      idempotent: false,
    });
  }

  /**
   * `POST /cluster/bulk-action/guest/shutdown` (PVE 9): one `bulk-shutdown` task that shuts the
   * listed guests down (`force-stop` defaults to 1 there); resolves to its UPID. Older PVE answers 501.
   */
  bulkShutdown(params: ClusterBulkShutdownParams): Promise<string> {
    return callEndpoint(this.#api, 'POST /cluster/bulk-action/guest/shutdown', {}, params, {
      schema: upidSchema,
      idempotent: false,
    });
  }
}

import { classifyPveFailure } from '../errors/pve-refusal.js';
import type { PveApi } from '../ports/pve-api.js';
import { CloneOutcomeUnknownError } from './clone-outcome-error.js';
import type {
  QemuCloneParams,
  QemuConfigParams,
  QemuConfigUpdateParams,
  QemuDeleteParams,
  QemuMigrateParams,
  QemuRebootParams,
  QemuShutdownParams,
  QemuAgentSetUserPasswordParams,
  QemuSnapshotCreateParams,
  QemuSnapshotRollbackParams,
  QemuStartParams,
  QemuStopParams,
  QemuTemplateParams,
  QemuVncProxyParams,
  QemuVncWebSocketParams,
} from './generated/pve-api-types.js';
import { isOutcomeUnknown } from './outcome-unknown.js';
import { callEndpoint, endpointPath } from './pve-endpoint.js';
import {
  agentInterfacesSchema,
  agentUsersSchema,
  guestConfigSchema,
  nullSchema,
  qemuStatusSchema,
  snapshotEntrySchema,
  upidSchema,
  vncProxySchema,
  type AgentInterfaces,
  type AgentUsers,
  type GuestConfig,
  type QemuStatus,
  type VncProxyTicket,
} from './pve-schemas.js';

const snapshotsSchema = snapshotEntrySchema.array();

/** A task-starting call whose immediate refusal becomes the same `PveRefusedError` its task's failure would. */
function startingTask(call: Promise<string>): Promise<string> {
  return call.catch((error: unknown) => {
    throw classifyPveFailure(error) ?? error;
  });
}

/**
 * One QEMU guest: `/nodes/{node}/qemu/{vmid}/…`. Reads and config writes (setting the same values
 * twice is harmless) may be retried; task-starting POSTs and DELETE are never repeated blindly.
 * Task-starting calls resolve to the task's UPID; follow it with `waitForTask`.
 */
export class PveQemu {
  readonly #api: PveApi;
  readonly node: string;
  readonly vmid: number;

  constructor(api: PveApi, node: string, vmid: number) {
    this.#api = api;
    this.node = node;
    this.vmid = vmid;
  }

  get #path() {
    return { node: this.node, vmid: this.vmid };
  }

  /**
   * `GET …/config`: the guest's configuration (pending values applied unless `current`).
   * @throws `PveHttpError` (500 "does not exist") when the guest is not on this node
   */
  config(params?: QemuConfigParams): Promise<GuestConfig> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/qemu/{vmid}/config', this.#path, params, {
      schema: guestConfigSchema,
      idempotent: true,
    });
  }

  /** `PUT …/config`: sets configuration keys synchronously (retried: repeating it is harmless). */
  async updateConfig(params: QemuConfigUpdateParams): Promise<void> {
    await callEndpoint(this.#api, 'PUT /nodes/{node}/qemu/{vmid}/config', this.#path, params, {
      schema: nullSchema,
      idempotent: true,
    });
  }

  /** `PUT …/cloudinit`: regenerates the cloud-init drive from the config (retried: harmless). */
  async regenerateCloudInit(): Promise<void> {
    await callEndpoint(this.#api, 'PUT /nodes/{node}/qemu/{vmid}/cloudinit', this.#path, undefined, {
      schema: nullSchema,
      idempotent: true,
    });
  }

  /**
   * `POST …/clone` to VMID `params.newid`; resolves to the clone task's UPID. Never repeated by the
   * client: PVE writes the new VM's config only once the task's worker runs, so a free `newid`
   * right after a lost answer proves nothing. A lost answer (reset, timeout, proxy error) becomes
   * `CloneOutcomeUnknownError`; `cloneVm` then watches `newid` and resends only when it stays free.
   * @throws `CloneOutcomeUnknownError`, `PveRefusedError` (e.g. `vmid-taken` on a VMID race), `PveHttpError`, `PveConnectionError` before sending
   * @example
   * ```ts
   * const upid = await pveResources(client).qemu('pve1', 9000).clone({ newid: 201, name: 'cs101-alice', full: false });
   * await waitForTask(client, upid);
   * ```
   */
  async clone(params: QemuCloneParams): Promise<string> {
    try {
      return await callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/clone', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      });
    } catch (error) {
      if (!isOutcomeUnknown(error)) throw classifyPveFailure(error) ?? error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new CloneOutcomeUnknownError(
        { clusterId: this.#api.clusterId, node: this.node, sourceVmid: this.vmid, vmid: params.newid, reason },
        { cause: error },
      );
    }
  }

  /** `GET …/status/current`: running, stopped, … */
  status(options: { signal?: AbortSignal } = {}): Promise<QemuStatus> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/qemu/{vmid}/status/current', this.#path, undefined, {
      schema: qemuStatusSchema,
      idempotent: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * `POST …/vncproxy`: starts a VNC proxy for the guest (pass `websocket: true` to reach it through
   * `vncWebSocketPath`). Not repeated: each call starts a proxy task. The answer's ticket and
   * password are credentials: keep them on the server.
   */
  vncProxy(params?: QemuVncProxyParams): Promise<VncProxyTicket> {
    return callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/vncproxy', this.#path, params, {
      schema: vncProxySchema,
      idempotent: false,
    });
  }

  /**
   * The path (below `/api2/json`) of `GET …/vncwebsocket` for a proxy `vncProxy` started: the
   * WebSocket to open with the same credentials. It carries the ticket, so it is a credential too.
   */
  vncWebSocketPath(params: QemuVncWebSocketParams): string {
    const query = new URLSearchParams({ port: String(params.port), vncticket: params.vncticket });
    return `${endpointPath('GET /nodes/{node}/qemu/{vmid}/vncwebsocket', this.#path)}?${query.toString()}`;
  }

  /** `POST …/status/start`; resolves to the UPID. PVE 9 checks the lock and state in the task. @throws `PveRefusedError` */
  start(params?: QemuStartParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/status/start', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `POST …/status/shutdown` (ACPI); resolves to the UPID. */
  shutdown(params?: QemuShutdownParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/status/shutdown', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `POST …/status/stop` (hard); resolves to the UPID. */
  stop(params?: QemuStopParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/status/stop', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `POST …/status/reboot`; resolves to the UPID. */
  reboot(params?: QemuRebootParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/status/reboot', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `DELETE /nodes/{node}/qemu/{vmid}`: destroys the guest; resolves to the UPID (the lock and linked clones are checked in the task). @throws `PveRefusedError` */
  delete(params?: QemuDeleteParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'DELETE /nodes/{node}/qemu/{vmid}', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `POST …/template`: turns the (stopped) guest into a template; resolves to the UPID. */
  template(params?: QemuTemplateParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/template', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `POST …/migrate` to `params.target`; resolves to the UPID. */
  migrate(params: QemuMigrateParams): Promise<string> {
    return startingTask(
      callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/migrate', this.#path, params, {
        schema: upidSchema,
        idempotent: false,
      }),
    );
  }

  /** `GET …/snapshot`: the guest's snapshots (and `current`). */
  snapshots(): Promise<Array<{ name: string; [key: string]: unknown }>> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/qemu/{vmid}/snapshot', this.#path, undefined, {
      schema: snapshotsSchema,
      idempotent: true,
    });
  }

  /** `POST …/snapshot`: takes snapshot `params.snapname`; resolves to the UPID. */
  snapshot(params: QemuSnapshotCreateParams): Promise<string> {
    return callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/snapshot', this.#path, params, {
      schema: upidSchema,
      idempotent: false,
    });
  }

  /** `DELETE …/snapshot/{snapname}`: deletes the snapshot; resolves to the UPID. */
  deleteSnapshot(snapname: string): Promise<string> {
    return callEndpoint(
      this.#api,
      'DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}',
      { ...this.#path, snapname },
      undefined,
      { schema: upidSchema, idempotent: false },
    );
  }

  /**
   * `POST …/snapshot/{snapname}/rollback`: the guest's disks and config go back to the snapshot
   * (a running guest is stopped first; `start` starts it again); resolves to the UPID.
   */
  rollback(snapname: string, params?: QemuSnapshotRollbackParams): Promise<string> {
    return callEndpoint(
      this.#api,
      'POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback',
      { ...this.#path, snapname },
      params,
      { schema: upidSchema, idempotent: false },
    );
  }

  /**
   * `POST …/agent/set-user-password`: sets a user's password inside the guest through its agent
   * (synchronous). Never logged with its parameters. @throws `PveHttpError` when the agent is absent or not running
   */
  async setUserPassword(params: QemuAgentSetUserPasswordParams): Promise<void> {
    await callEndpoint(this.#api, 'POST /nodes/{node}/qemu/{vmid}/agent/set-user-password', this.#path, params, {
      schema: nullSchema,
      idempotent: false,
    });
  }

  /** `GET …/agent/get-users`: who is logged in, through the guest agent. @throws `PveHttpError` when the agent is not running */
  agentUsers(): Promise<AgentUsers> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/qemu/{vmid}/agent/get-users', this.#path, undefined, {
      schema: agentUsersSchema,
      idempotent: true,
    });
  }

  /** `GET …/agent/network-get-interfaces`, through the guest agent. @throws `PveHttpError` when the agent is not running */
  agentNetworkInterfaces(): Promise<AgentInterfaces> {
    return callEndpoint(
      this.#api,
      'GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces',
      this.#path,
      undefined,
      { schema: agentInterfacesSchema, idempotent: true },
    );
  }
}

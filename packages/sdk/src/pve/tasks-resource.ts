import type { PveApi } from '../ports/pve-api.js';
import type { TaskLogParams } from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import { taskLogLineSchema, taskStatusSchema, type TaskLogLine, type TaskStatus } from './pve-schemas.js';

const taskLogSchema = taskLogLineSchema.array();

/** The tasks of one node: `/nodes/{node}/tasks/{upid}/…`. Reads only. */
export class PveTasks {
  readonly #api: PveApi;
  readonly node: string;

  constructor(api: PveApi, node: string) {
    this.#api = api;
    this.node = node;
  }

  /** `GET …/tasks/{upid}/status`: running or stopped, with the exit status once stopped. */
  status(upid: string, options: { signal?: AbortSignal } = {}): Promise<TaskStatus> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/tasks/{upid}/status', { node: this.node, upid }, undefined, {
      schema: taskStatusSchema,
      idempotent: true,
      ...options,
    });
  }

  /** `GET …/tasks/{upid}/log`: log lines from `start` (PVE answers `no content` for none). */
  log(upid: string, params?: TaskLogParams, options: { signal?: AbortSignal } = {}): Promise<TaskLogLine[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/tasks/{upid}/log', { node: this.node, upid }, params, {
      schema: taskLogSchema,
      idempotent: true,
      ...options,
    });
  }
}

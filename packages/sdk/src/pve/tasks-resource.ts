import type { PveApi } from '../ports/pve-api.js';
import type { NodeTasksParams, TaskLogParams } from './generated/pve-api-types.js';
import { callEndpoint } from './pve-endpoint.js';
import {
  taskListEntrySchema,
  taskLogLineSchema,
  taskStatusSchema,
  type TaskListEntry,
  type TaskLogLine,
  type TaskStatus,
} from './pve-schemas.js';

const taskLogSchema = taskLogLineSchema.array();
const taskListSchema = taskListEntrySchema.array();

/** The tasks of one node: `/nodes/{node}/tasks/{upid}/…`. Reads only. */
export class PveTasks {
  readonly #api: PveApi;
  readonly node: string;

  constructor(api: PveApi, node: string) {
    this.#api = api;
    this.node = node;
  }

  /**
   * `GET /nodes/{node}/tasks`: the node's tasks. `source: 'active'` lists the running ones (status
   * `RUNNING`), in the order they started; a finished task leaves that list once PVE has archived it.
   */
  list(params?: NodeTasksParams, options: { signal?: AbortSignal } = {}): Promise<TaskListEntry[]> {
    return callEndpoint(this.#api, 'GET /nodes/{node}/tasks', { node: this.node }, params, {
      schema: taskListSchema,
      idempotent: true,
      ...options,
    });
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

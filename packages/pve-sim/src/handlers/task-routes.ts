import { paramError } from '../sim-error.js';
import { permissionDenied, splitTokenId } from '../model/access-control.js';
import type { SimTask } from '../model/types.js';
import { route, WithAttributes, type RouteTable, type SimContext } from './route-table.js';

const UPID =
  /^UPID:[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$/;

/**
 * A task by UPID, after pve-manager `PVE/API2/Tasks.pm` (14a22df3): a malformed UPID is `unable to
 * parse worker upid`, an unknown one `no such task` (both 400 on `upid`); someone else's task needs
 * `Sys.Audit` on `/nodes/<node>`.
 */
function requireTask(ctx: SimContext, node: string, upid: string, authid: string): SimTask {
  if (!UPID.test(upid)) throw paramError({ upid: `unable to parse worker upid '${upid}'` });
  const task = ctx.state.tasks.tasks.get(upid);
  if (!task || task.node !== node) throw paramError({ upid: 'no such task' });
  if (!ownsTask(authid, task) && !ctx.access.has(authid, `/nodes/${node}`, ['Sys.Audit']))
    throw permissionDenied(`/nodes/${node}, Sys.Audit`);
  return task;
}

function ownsTask(authid: string, task: SimTask): boolean {
  return task.user === authid || splitTokenId(task.user).user === authid;
}

/** The owner fields of a task: a token's task reports its user and `tokenid` apart (`Tasks.pm`). */
function owner(task: SimTask): { user: string; tokenid?: string } {
  const { user, token } = splitTokenId(task.user);
  return token === undefined ? { user } : { user, tokenid: token };
}

/** Task status, task log and task list routes. */
export function registerTaskRoutes(table: RouteTable): void {
  route(table, 'GET', '/nodes/{node}/tasks/{upid}/status', (req, ctx) => {
    const task = requireTask(ctx, req.params.node as string, req.params.upid as string, req.principal.userid);
    const body: Record<string, unknown> = {
      upid: task.upid,
      node: task.node,
      pid: task.pid,
      pstart: task.pstart,
      starttime: task.starttime,
      type: task.type,
      id: task.id,
      ...owner(task),
      status: task.status,
    };
    if (task.status === 'stopped') body.exitstatus = task.exitstatus;
    return body;
  });

  route(table, 'GET', '/nodes/{node}/tasks/{upid}/log', (req, ctx) => {
    const task = requireTask(ctx, req.params.node as string, req.params.upid as string, req.principal.userid);
    const start = (req.params.start as number | undefined) ?? 0;
    const limit = (req.params.limit as number | undefined) ?? 50;
    const lines = task.log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    if (lines.length === 0 && task.log.length === 0)
      return new WithAttributes([{ n: 1, t: 'no content' }], { total: 1 });
    return new WithAttributes(lines, { total: task.log.length });
  });

  // pve-manager `PVE/API2/Tasks.pm` `node_tasks` (14a22df3): `source=archive` (the default) reads
  // the task index backwards, so finished tasks come most recently ended first, with `endtime` and
  // their exit status in `status`; `active` lists the node's active-worker list (pve-common
  // `RESTEnvironment.pm` `active_workers`, which archives a task as soon as its worker is reaped),
  // i.e. the running tasks in the order they started, each with `status: "RUNNING"`; `all` is the
  // active ones, then the archive. Filters: `userfilter` (a case-insensitive substring of the user),
  // `typefilter`, `vmid` (the UPID's id), `since`/`until` (start time), `statusfilter` (ok, warning,
  // error, unknown; a running task is `unknown`), `errors` (everything but ok); others' tasks only
  // with Sys.Audit on the node. `total` counts every match, `start`/`limit` page them.
  route(table, 'GET', '/nodes/{node}/tasks', (req, ctx) => {
    const node = req.params.node as string;
    const start = (req.params.start as number | undefined) ?? 0;
    const limit = (req.params.limit as number | undefined) ?? 50;
    const source = (req.params.source as string | undefined) ?? 'archive';
    const authid = req.principal.userid;
    const audit = ctx.access.has(authid, `/nodes/${node}`, ['Sys.Audit']);
    const vmid = req.params.vmid as number | undefined;
    const typefilter = req.params.typefilter as string | undefined;
    const userfilter = (req.params.userfilter as string | undefined)?.toLowerCase();
    const since = req.params.since as number | undefined;
    const until = req.params.until as number | undefined;
    const errors = req.params.errors === 1 || req.params.errors === true;
    const statusfilter = req.params.statusfilter as string | undefined;
    const states = new Set(
      statusfilter !== undefined && !errors
        ? statusfilter
            .split(/[,;\s]+/)
            .filter(Boolean)
            .map((x) => x.toLowerCase())
        : ['ok', 'warning', 'error', 'unknown'].filter((x) => !errors || x !== 'ok'),
    );
    const onNode = [...ctx.state.tasks.tasks.values()].filter((t) => t.node === node);
    const active = source === 'archive' ? [] : onNode.filter((t) => t.status === 'running');
    const archive =
      source === 'active'
        ? []
        : onNode
            .map((t, i) => ({ t, i }))
            .filter(({ t }) => t.status === 'stopped')
            .sort((a, b) => (b.t.endtime ?? 0) - (a.t.endtime ?? 0) || b.i - a.i)
            .map(({ t }) => t);
    const matching = [...active, ...archive]
      .filter((t) => userfilter === undefined || owner(t).user.toLowerCase().includes(userfilter))
      .filter((t) => audit || ownsTask(authid, t))
      .filter((t) => typefilter === undefined || t.type === typefilter)
      .filter((t) => vmid === undefined || t.id === String(vmid))
      .filter((t) => since === undefined || t.starttime >= since)
      .filter((t) => until === undefined || t.starttime <= until)
      .filter((t) => states.has(statusType(t)));
    return new WithAttributes(
      matching.slice(start, start + limit).map((t) => ({
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        ...owner(t),
        ...(t.status === 'stopped' ? { status: t.exitstatus, endtime: t.endtime } : { status: 'RUNNING' }),
      })),
      { total: matching.length },
    );
  });
}

/** pve-common `PVE::UPID::normalize_status_type`; a running task has no status yet, so `unknown`. */
function statusType(task: SimTask): 'ok' | 'warning' | 'error' | 'unknown' {
  if (task.status !== 'stopped' || !task.exitstatus) return 'unknown';
  if (task.exitstatus === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(task.exitstatus)) return 'warning';
  if (task.exitstatus === 'unexpected status') return 'unknown';
  return 'error';
}

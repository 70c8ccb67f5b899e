import { die } from '../sim-error.js';
import type { SimTask } from '../model/types.js';
import { route, type RouteTable, type SimContext } from './route-table.js';

function requireTask(ctx: SimContext, node: string, upid: string): SimTask {
  const task = ctx.state.tasks.tasks.get(upid);
  if (!task || task.node !== node) throw die(`unable to parse worker upid '${upid}'`);
  return task;
}

/** Task status, task log and task list routes. */
export function registerTaskRoutes(table: RouteTable): void {
  route(table, 'GET', '/nodes/{node}/tasks/{upid}/status', (req, ctx) => {
    const task = requireTask(ctx, req.params.node as string, req.params.upid as string);
    const body: Record<string, unknown> = {
      upid: task.upid,
      node: task.node,
      pid: task.pid,
      pstart: task.pstart,
      starttime: task.starttime,
      type: task.type,
      id: task.id,
      user: task.user,
      status: task.status,
    };
    if (task.status === 'stopped') body.exitstatus = task.exitstatus;
    return body;
  });

  route(table, 'GET', '/nodes/{node}/tasks/{upid}/log', (req, ctx) => {
    const task = requireTask(ctx, req.params.node as string, req.params.upid as string);
    const start = (req.params.start as number | undefined) ?? 0;
    const limit = (req.params.limit as number | undefined) ?? 50;
    const lines = task.log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    if (lines.length === 0 && task.log.length === 0) return [{ n: 1, t: 'no content' }];
    return lines;
  });

  route(table, 'GET', '/nodes/{node}/tasks', (req, ctx) => {
    const node = req.params.node as string;
    const limit = (req.params.limit as number | undefined) ?? 50;
    return [...ctx.state.tasks.tasks.values()]
      .filter((t) => t.node === node)
      .reverse()
      .slice(0, limit)
      .map((t) => ({
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        user: t.user,
        ...(t.status === 'stopped' ? { status: t.exitstatus, endtime: t.endtime } : {}),
      }));
  });
}

import { die } from '../sim-error.js';
import { route, type RouteTable, type SimContext } from './route-table.js';

/** The answer of `GET …/vncwebsocket` without an upgrade, and the check before one: the ticket must match user, VM and port. */
export function checkVncWebSocket(
  ctx: SimContext,
  params: Record<string, unknown>,
  userid: string,
): { node: string; vmid: number; port: number } {
  const node = params.node as string;
  const vmid = params.vmid as number;
  const port = params.port as number;
  // PVE::AccessControl::verify_vnc_ticket dies with this text; an untyped die is HTTP 500.
  if (!ctx.vnc.verify(params.vncticket as string, userid, vmid, port))
    throw die('permission denied - invalid PVEVNC ticket');
  ctx.state.requireGuest(node, vmid, 'qemu');
  return { node, vmid, port };
}

/**
 * `vncproxy` and `vncwebsocket` of qemu-server (`PVE/API2/Qemu.pm`). `vncproxy` checks only that
 * the VM exists, as PVE does: the proxy task of a stopped VM fails when the WebSocket connects
 * (`qm vncproxy` → "VM <vmid> not running"). The upgrade itself is served by `handleVncUpgrade`.
 */
export function registerVncRoutes(table: RouteTable): void {
  route(table, 'POST', '/nodes/{node}/qemu/{vmid}/vncproxy', (req, ctx) => {
    const node = req.params.node as string;
    const vmid = req.params.vmid as number;
    ctx.state.requireGuest(node, vmid, 'qemu');
    let finish: (error?: string) => void = () => undefined;
    const ended = new Promise<string | undefined>((resolve) => (finish = resolve));
    const task = ctx.state.tasks.start(node, 'vncproxy', String(vmid), req.principal.userid, async (log) => {
      log(`starting vnc proxy ${vmid}`);
      const error = await ended;
      if (error) throw new Error(error);
    });
    const proxy = ctx.vnc.open({
      node,
      vmid,
      user: req.principal.userid,
      upid: task.upid,
      finish: (error) => finish(error),
    });
    return {
      user: req.principal.userid,
      ticket: proxy.ticket,
      password: proxy.password,
      port: proxy.port,
      upid: task.upid,
      cert: ctx.caPem,
    };
  });
  route(table, 'GET', '/nodes/{node}/qemu/{vmid}/vncwebsocket', (req, ctx) => ({
    port: String(checkVncWebSocket(ctx, req.params, req.principal.userid).port),
  }));
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { checkVncWebSocket } from '../handlers/vnc-routes.js';
import type { SimContext } from '../handlers/route-table.js';
import { PveSimError } from '../sim-error.js';
import type { RawParam } from '../schema/validate-parameters.js';
import { validateParameters } from '../schema/validate-parameters.js';
import { VNC_PASSWORD_LIFETIME_MS } from '../model/vnc-proxies.js';
import { serveRfb } from '../vnc/rfb-server.js';
import { renderVmScreen } from '../vnc/vm-screen.js';
import type { RequestStats } from './request-stats.js';

const API_PREFIX = '/api2/json';
const TEMPLATE = '/nodes/{node}/qemu/{vmid}/vncwebsocket';
/** How often an open VNC connection notices that its VM stopped (QEMU's socket closes with the VM). */
const VM_WATCH_MS = 100;

function refuse(socket: Duplex, error: PveSimError): void {
  const body =
    error.status === 401
      ? ''
      : JSON.stringify({
          data: null,
          ...(error.errors ? { errors: error.errors } : {}),
          message: `${error.message}\n`,
        });
  socket.end(
    `HTTP/1.1 ${error.status} ${error.message.replace(/[\r\n]+/g, ' ')}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * A WebSocket upgrade of `GET /api2/json/nodes/{node}/qemu/{vmid}/vncwebsocket`, as pveproxy
 * handles it (pve-http-server `PVE::APIServer::AnyEvent`): the API call runs first with the usual
 * authentication (token or ticket cookie, 401 after 3 s), schema check, `VM.Console` on
 * `/vms/{vmid}` and the `vncticket` check, and its error is the HTTP answer; then the proxy's port
 * is connected (no proxy listening: the connection is dropped) and the upgrade completes. A
 * stopped VM's proxy closes the WebSocket at once; a running VM's closes when the VM stops.
 */
export function handleVncUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  deps: { ctx: SimContext; wss: WebSocketServer; stats: RequestStats },
): void {
  const { ctx } = deps;
  const url = new URL(req.url ?? '/', 'https://pve-sim');
  const match = url.pathname.startsWith(API_PREFIX)
    ? ctx.schema.match(url.pathname.slice(API_PREFIX.length))
    : undefined;
  if (match?.endpoint.template !== TEMPLATE || req.method !== 'GET') {
    socket.destroy();
    return;
  }
  deps.stats.record('GET', TEMPLATE);
  const run = async () => {
    let principal;
    try {
      principal = ctx.auth.authenticate('GET', req.headers);
    } catch (error) {
      if (error instanceof PveSimError && error.status === 401) await ctx.state.time.sleep(3000);
      throw error;
    }
    const raw: Record<string, RawParam> = {};
    for (const [k, v] of url.searchParams) raw[k] = v;
    for (const [k, v] of Object.entries(match.pathParams)) raw[k] = v;
    const methodInfo = match.endpoint.methods.GET!;
    const check = validateParameters(methodInfo, raw);
    if (Object.keys(check.errors).length > 0)
      throw new PveSimError(400, 'Parameter verification failed.', check.errors);
    ctx.access.checkApi(methodInfo.permissions, principal.userid, check.values);
    const { vmid, port } = checkVncWebSocket(ctx, check.values, principal.userid);
    const proxy = ctx.vnc.connect(port);
    if (!proxy || proxy.vmid !== vmid) {
      socket.destroy();
      return;
    }
    deps.wss.handleUpgrade(req, socket, head, (ws) => {
      const guest = ctx.state.guests.get(vmid);
      if (!guest || guest.status !== 'running') {
        ctx.vnc.close(port);
        proxy.finish(`VM ${vmid} not running`);
        ws.terminate();
        return;
      }
      const name = guest.config.name ?? `VM ${vmid}`;
      const watch = setInterval(() => {
        if (ctx.state.guests.get(vmid)?.status !== 'running') ws.terminate();
      }, VM_WATCH_MS);
      serveRfb(ws, {
        name,
        password: proxy.password,
        passwordExpiresAt: proxy.startedAt + VNC_PASSWORD_LIFETIME_MS,
        now: () => ctx.state.time.now(),
        screen: () => renderVmScreen(name, vmid),
        onEnd: (error) => {
          clearInterval(watch);
          ctx.vnc.close(port);
          proxy.finish(error);
        },
      });
    });
  };
  run().catch((error: unknown) =>
    refuse(
      socket,
      error instanceof PveSimError
        ? error
        : new PveSimError(500, `pve-sim internal error: ${(error as Error).message}`),
    ),
  );
}

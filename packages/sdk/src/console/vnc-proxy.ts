import { z } from 'zod';
import { pvePath } from '../client/pve-path.js';
import type { PveApi } from '../ports/pve-api.js';

const vncProxySchema = z
  .object({
    port: z.coerce.number().int(),
    ticket: z.string().min(1),
    password: z.string().min(1).optional(),
    user: z.string(),
    upid: z.string(),
  })
  .loose();

/**
 * A VNC proxy PVE started for one VM (`POST …/vncproxy` with `websocket=1`): the port to name in
 * `vncwebsocket`, the ticket that authorises the WebSocket, and the password the VNC protocol then
 * asks for. All three are credentials: they stay on the server.
 */
export interface VncProxy {
  node: string;
  vmid: number;
  port: number;
  ticket: string;
  /** The VNC password: PVE's `password` field (PVE ≥ 8.0), else the ticket itself, as older noVNC pages used it. */
  password: string;
  upid: string;
}

/** Asks PVE to start a VNC proxy for `vmid` on `node`, for a WebSocket (qemu-server `vncproxy`). */
export async function requestVncProxy(api: PveApi, node: string, vmid: number): Promise<VncProxy> {
  const data = await api.post(
    pvePath`/nodes/${node}/qemu/${vmid}/vncproxy`,
    { websocket: true },
    { schema: vncProxySchema },
  );
  return { node, vmid, port: data.port, ticket: data.ticket, password: data.password ?? data.ticket, upid: data.upid };
}

/** The path (below `/api2/json`) of the proxy's WebSocket, `vncwebsocket?port=…&vncticket=…`. */
export function vncWebSocketPath(proxy: VncProxy): string {
  return `${pvePath`/nodes/${proxy.node}/qemu/${proxy.vmid}/vncwebsocket`}?${new URLSearchParams({ port: String(proxy.port), vncticket: proxy.ticket }).toString()}`;
}

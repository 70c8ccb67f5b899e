import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PveSim } from '../pve-sim.js';
import { readBody } from './read-request.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The simulator's own control API under `/_sim/` (outside PVE's namespace): state, request
 * counts, SDN config (pending, running, each node's VNet bridges), faults, nodes going offline, ticket expiry, raw guest config edits and the permissions
 * `GET /access/permissions` reports.
 */
export async function handleControlRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sim: PveSim,
): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.slice('/_sim'.length);
  try {
    const bodyText = method === 'POST' || method === 'PUT' ? await readBody(req) : '';
    const body = bodyText ? (JSON.parse(bodyText) as Record<string, unknown>) : {};
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/state') return json(res, 200, sim.summary());
    if (method === 'GET' && path === '/sdn') return json(res, 200, sim.state.sdn.snapshot());
    if (method === 'GET' && path === '/requests')
      return json(res, 200, { total: sim.requests.total, byEndpoint: sim.requests.snapshot() });
    if (method === 'POST' && path === '/requests/reset') {
      sim.requests.reset();
      return json(res, 200, { ok: true });
    }
    if (method === 'GET' && path === '/faults') return json(res, 200, sim.faults.list());
    if (method === 'POST' && path === '/faults') return json(res, 200, { index: sim.faults.add(body as never) });
    if (method === 'DELETE' && path === '/faults') {
      sim.faults.clear();
      return json(res, 200, { ok: true });
    }
    if (method === 'POST' && path === '/permissions') {
      sim.auth.setPermissions(body as Record<string, Record<string, 0 | 1>>);
      return json(res, 200, { ok: true });
    }
    if (method === 'DELETE' && path === '/permissions') {
      sim.auth.setPermissions(undefined);
      return json(res, 200, { ok: true });
    }
    if (method === 'POST' && path === '/tickets/expire') {
      sim.auth.expireTickets();
      return json(res, 200, { ok: true });
    }
    if (method === 'POST' && (m = /^\/nodes\/([^/]+)\/(online|offline)$/.exec(path))) {
      sim.setNodeOnline(decodeURIComponent(m[1]!), m[2] === 'online');
      return json(res, 200, { ok: true });
    }
    if (method === 'POST' && (m = /^\/guests\/(\d+)\/config$/.exec(path))) {
      sim.editGuestConfig(Number(m[1]), body as Record<string, string | null>);
      return json(res, 200, { ok: true });
    }
    if (method === 'POST' && (m = /^\/guests\/(\d+)\/acpi$/.exec(path))) {
      if (typeof body.ignores !== 'boolean') throw new Error('send {"ignores": true|false}');
      sim.setIgnoresAcpi(Number(m[1]), body.ignores);
      return json(res, 200, { ok: true });
    }
    return json(res, 404, { error: `no control endpoint ${method} /_sim${path}` });
  } catch (error) {
    return json(res, 400, { error: (error as Error).message });
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PveSimError } from '../sim-error.js';
import { WithAttributes, type RouteTable, type SimContext } from '../handlers/route-table.js';
import type { RawParam } from '../schema/validate-parameters.js';
import { validateParameters } from '../schema/validate-parameters.js';
import { patchEntries, type FaultInjector } from './fault-injector.js';
import { sendHugeBody } from './huge-body.js';
import { addParams, readBody } from './read-request.js';
import type { RequestStats } from './request-stats.js';

const API_PREFIX = '/api2/json';

/** What the PVE request handler needs besides the request. */
export interface PveHandlerDeps {
  ctx: SimContext;
  routes: RouteTable;
  faults: FaultInjector;
  stats: RequestStats;
}

function send(
  res: ServerResponse,
  status: number,
  reason: string,
  body: string,
  contentType: string | null = 'application/json;charset=UTF-8',
): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { server: 'pve-api-daemon/3.0', 'cache-control': 'max-age=0' };
  if (contentType !== null) headers['content-type'] = contentType;
  if (body) headers['content-length'] = Buffer.byteLength(body);
  else {
    // pveproxy sends an empty answer without Content-Length (and without chunking): its end is the close.
    res.removeHeader('content-length');
    res.removeHeader('transfer-encoding');
  }
  // pveproxy ends keep-alive after any error (pve-http-server `response`: keep_alive = 0 if code >= 400).
  if (status >= 400) headers.connection = 'close';
  res.writeHead(status, reason.replace(/[\r\n]+/g, ' ').trim() || 'OK', headers);
  res.end(body);
}

/** Whether `version` (`8.2.4`) is at least `major.minor`. */
function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * Answers an error as PVE does (pve-http-server `src/PVE/APIServer/AnyEvent.pm`): reason phrase =
 * message; `errors` map on 400; the `message` field only from pve-http-server 5.2.0 (PVE 8.3) on.
 * An error of the HTTP layer (a refused authentication) is `HTTP::Response->new(code, msg)`: no
 * body, no Content-Type; a handler's error, `/access/ticket`'s 401 included, is the JSON envelope.
 */
export function sendPveError(res: ServerResponse, error: PveSimError, pveVersion = '9.1'): void {
  if (error.layer === 'http') {
    send(res, error.status, error.message, '', null);
    return;
  }
  const body: Record<string, unknown> = { data: null };
  if (error.errors) body.errors = error.errors;
  if (atLeast(pveVersion, 8, 3)) body.message = `${error.message}\n`;
  send(res, error.status, error.message, JSON.stringify(body));
}

/** Serves `/api2/json/...` like pveproxy: faults, schema check, auth, CSRF, proxy-to-node, handler. */
export async function handlePveRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: PveHandlerDeps,
): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.slice(API_PREFIX.length) || '/';
  const match = deps.ctx.schema.match(path);
  const template = match?.endpoint.template;
  deps.stats.record(method, template ?? path);
  const end = deps.stats.begin();
  res.once('close', end);

  const fault = deps.faults.pick(method, template, path);
  if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
  if (fault?.kind === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault && fault.kind.startsWith('http-')) {
    const status = Number(fault.kind.slice(5));
    const defaults: Record<number, string> = {
      500: 'internal error (injected fault)',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      595: 'Errors during connection establishment, proxy handshake: Connection refused',
      596: 'Errors during TLS negotiation, request sending and header processing: Connection timed out',
      599: 'Too many redirections',
    };
    sendPveError(
      res,
      new PveSimError(status, fault.message ?? defaults[status] ?? 'injected fault'),
      deps.ctx.pveVersion,
    );
    return;
  }
  if (fault?.kind === 'malformed-json') {
    send(res, 200, 'OK', '{"data": [ {"vmid": 1');
    return;
  }
  if (fault?.kind === 'empty-list') {
    send(res, 200, 'OK', '{"data":[]}');
    return;
  }
  if (fault?.kind === 'huge-body') {
    await sendHugeBody(res, fault.sizeBytes ?? 700 * 1024 * 1024, (bytes) => (fault.bytesSent += bytes));
    return;
  }
  if (fault?.kind === 'wrong-shape') {
    send(res, 200, 'OK', JSON.stringify({ data: { unexpected: 'shape', items: 'not-an-array' } }));
    return;
  }

  const methodInfo = match?.endpoint.methods[method];
  if (!match || !methodInfo) {
    deps.stats.schemaViolations.push({
      method,
      path,
      status: 501,
      message: 'no such path/method in the PVE API schema',
    });
    sendPveError(
      res,
      new PveSimError(501, `Method '${method} ${API_PREFIX}${path}' not implemented`),
      deps.ctx.pveVersion,
    );
    return;
  }
  try {
    const raw: Record<string, RawParam> = {};
    for (const [k, v] of url.searchParams) {
      const prev = raw[k];
      raw[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    if (method === 'POST' || method === 'PUT') addParams(raw, await readBody(req), req.headers['content-type']);
    const isLogin = method === 'POST' && template === '/access/ticket';
    let principal;
    try {
      principal = isLogin
        ? { userid: 'anonymous', via: 'ticket' as const }
        : deps.ctx.auth.authenticate(method, req.headers);
    } catch (error) {
      // pveproxy delays every refused authentication by 3 s (scaled by the time scale).
      if (error instanceof PveSimError && error.status === 401) await deps.ctx.state.time.sleep(3000);
      throw error;
    }
    for (const [name, value] of Object.entries(match.pathParams)) raw[name] = value;
    const check = validateParameters(methodInfo, raw);
    if (Object.keys(check.errors).length > 0) {
      deps.stats.schemaViolations.push({
        method,
        path,
        status: 400,
        message: 'Parameter verification failed.',
        errors: check.errors,
      });
      throw new PveSimError(400, 'Parameter verification failed.', check.errors);
    }
    if (!isLogin) deps.ctx.access.checkApi(methodInfo.permissions, principal.userid, check.values);
    if (methodInfo.proxyto === 'node' && typeof check.values.node === 'string') {
      const node = deps.ctx.state.nodes.get(check.values.node);
      if (node && !node.online)
        throw new PveSimError(595, 'Errors during connection establishment, proxy handshake: No route to host');
    }
    let data: unknown;
    if (isLogin) {
      try {
        data = deps.ctx.auth.login(
          String(check.values.username),
          String(check.values.password),
          check.values.realm as string | undefined,
        );
      } catch (error) {
        await deps.ctx.state.time.sleep(3000);
        throw error;
      }
      // pve-access-control `create_ticket`: `cap`, and `clustername` only for who may audit `/`.
      const userid = (data as { username: string }).username;
      data = { ...(data as object), cap: deps.ctx.access.apiCapabilities(userid) };
      if (deps.ctx.access.has(userid, '/', ['Sys.Audit']))
        (data as Record<string, unknown>).clustername = deps.ctx.state.name;
    } else {
      const handler = deps.routes.get(`${method} ${template}`);
      if (!handler)
        throw new PveSimError(501, `pve-sim: '${method} ${template}' exists in PVE's API but is not simulated`);
      data = handler({ params: check.values, principal }, deps.ctx);
    }
    if (fault?.kind === 'reset-after') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'patch-entries' && fault.patch) data = patchEntries(data, fault.patch);
    if (fault?.kind === 'task-warnings' && typeof data === 'string') {
      const task = deps.ctx.state.tasks.tasks.get(data);
      if (task)
        task.pendingWarnings = Array.from(
          { length: fault.warnings ?? 1 },
          (_, i) => `injected warning ${i + 1} (pve-sim fault 'task-warnings')`,
        );
    }
    if (data instanceof WithAttributes)
      send(res, 200, 'OK', JSON.stringify({ ...data.attributes, data: data.data ?? null }));
    else send(res, 200, 'OK', JSON.stringify({ data: data ?? null }));
  } catch (error) {
    if (error instanceof PveSimError) sendPveError(res, error, deps.ctx.pveVersion);
    else
      sendPveError(
        res,
        new PveSimError(500, `pve-sim internal error: ${(error as Error).message}`),
        deps.ctx.pveVersion,
      );
  }
}

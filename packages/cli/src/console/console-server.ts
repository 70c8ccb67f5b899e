import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  hashConsoleToken,
  isConsoleToken,
  isLabError,
  type ClusterApis,
  type Clock,
  type ConsoleGrants,
  type Logger,
  type Store,
} from '@lab/proxmox-sdk';
import { CONSOLE_SCRIPT, CONSOLE_STYLE } from './console-assets.js';
import { consoleHeaders } from './console-http-headers.js';
import { consoleErrorPage, consolePage } from './console-page.js';
import { ConsoleRelay } from './console-relay.js';
import { readNovncFile } from './novnc-files.js';

/** What the console endpoints need. */
export interface ConsoleServerOptions {
  store: Store;
  clusters: ClusterApis;
  grants: ConsoleGrants;
  clock: Clock;
  logger: Logger;
  /** Where browsers reach this server (`console.publicUrl`); WebSockets must come from its origin. */
  publicUrl: string;
  /** Opens PVE's WebSocket at `path` (below `/api2/json`) with the lab's credentials. */
  openPveSocket: (clusterId: string, path: string) => Promise<WebSocket>;
  /** How often a session checks its VM and the person's access. @defaultValue 5000 */
  watchIntervalMs?: number;
}

/** The console endpoints, to mount on a bot process's HTTP server. */
export interface ConsoleServer {
  /** Answers `/console/…` requests; false for any other path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Takes a WebSocket upgrade of `/console/ws/…`; false for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sessions open now. */
  readonly openSessions: number;
  /** Bytes the open sessions hold in memory for a side that reads slower than the other sends. */
  readonly bufferedBytes: number;
  /** Ends every open session (audited as `closed`) and stops taking new ones. */
  close(): Promise<void>;
}

const STATUS_OF: Record<string, number> = {
  LAB_CONSOLE_LINK_UNKNOWN: 404,
  LAB_CONSOLE_LINK_EXPIRED: 410,
  LAB_CONSOLE_LINK_USED: 410,
  LAB_CONSOLE_SESSION_UNKNOWN: 410,
  LAB_CONSOLE_NOT_YOURS: 403,
  LAB_CONSOLE_WRONG_VM: 403,
  LAB_CONSOLE_BUSY: 429,
  LAB_CONSOLE_RATE_LIMITED: 429,
};

/**
 * The browser console of `/myvm console` links, served beside the bot:
 * - `GET /console/<token>`: the page (loading it uses nothing up); `POST /console/<token>/session`
 *   (same origin only) redeems the link once and answers the page's session id;
 * - `GET /console/assets/…` and `/console/novnc/{core,vendor}/…`: the page's script and noVNC,
 *   from the installed `@novnc/novnc` package;
 * - WebSocket `/console/ws/<cluster>/<vmid>/<session>`: from the public URL's origin only, once per
 *   session, relayed to PVE by `ConsoleRelay`.
 * Every response carries `CONSOLE_CSP`.
 */
export function createConsoleServer(options: ConsoleServerOptions): ConsoleServer {
  const origin = new URL(options.publicUrl).origin;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });
  const relays = new Set<ConsoleRelay>();
  let closing = false;

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    cache: 'no-store' | 'static' = 'no-store',
  ) => {
    if (!res.headersSent) res.writeHead(status, consoleHeaders(type, cache)).end(body);
  };
  const sendError = (res: ServerResponse, error: unknown, as: 'html' | 'json') => {
    if (!isLabError(error)) options.logger.error('console endpoint failed', { error });
    const status = isLabError(error) ? (STATUS_OF[error.code] ?? 500) : 500;
    const message = isLabError(error)
      ? error.message
      : 'The console could not be opened; try again, and if it keeps failing tell your lab admin.';
    if (as === 'json')
      send(
        res,
        status,
        'application/json',
        JSON.stringify({ code: isLabError(error) ? error.code : 'LAB_CONSOLE_ERROR', message }),
      );
    else send(res, status, 'text/html; charset=utf-8', consoleErrorPage(message));
  };

  const page = async (res: ServerResponse, token: string) => {
    // Unknown, used and expired links get their answer at once; a good one is not touched.
    const grant = isConsoleToken(token) ? await options.store.consoleGrants.get(hashConsoleToken(token)) : undefined;
    if (!grant) return sendError(res, await options.grants.openLink(token).catch((e: unknown) => e), 'html');
    if (grant.usedAt !== null || options.clock.now() > grant.expiresAt)
      return sendError(res, await options.grants.openLink(token).catch((e: unknown) => e), 'html');
    send(res, 200, 'text/html; charset=utf-8', consolePage());
  };

  const openSession = async (req: IncomingMessage, res: ServerResponse, token: string) => {
    if (req.headers.origin !== origin) {
      send(
        res,
        403,
        'application/json',
        JSON.stringify({
          code: 'LAB_CONSOLE_ORIGIN',
          message: 'Open console links in the browser, from the link itself.',
        }),
      );
      return;
    }
    try {
      const { sessionId, grant } = await options.grants.openLink(token);
      await options.grants.checkSession(grant);
      const vm = await options.store.inventory.get(grant.clusterId, grant.vmid);
      send(
        res,
        200,
        'application/json',
        JSON.stringify({
          sessionId,
          clusterId: grant.clusterId,
          vmid: grant.vmid,
          vmName: vm?.name ?? `VM ${grant.vmid}`,
          sessionMinutes: Math.round(grant.sessionMaxMs / 60_000),
        }),
      );
    } catch (error) {
      sendError(res, error, 'json');
    }
  };

  const refuseUpgrade = (socket: Duplex, status: number, reason: string) => {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\nConnection: close\r\n\r\n${reason}`,
    );
  };

  return {
    get openSessions() {
      return relays.size;
    },
    get bufferedBytes() {
      let total = 0;
      for (const relay of relays) total += relay.bufferedBytes;
      return total;
    },
    handleRequest(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      // Browsers ask for it beside every console page; there is none, and the bot behind must not see it.
      if (path === '/favicon.ico') {
        res.writeHead(204, consoleHeaders('image/x-icon', 'static')).end();
        return true;
      }
      if (!path.startsWith('/console/')) return false;
      const rest = path.slice('/console/'.length);
      const method = req.method ?? 'GET';
      if (method === 'POST' && /^[A-Za-z0-9_-]+\/session$/.test(rest)) {
        void openSession(req, res, rest.slice(0, -'/session'.length));
        return true;
      }
      if (method !== 'GET' && method !== 'HEAD') {
        res
          .writeHead(405, { ...consoleHeaders('text/plain', 'no-store'), allow: 'GET, HEAD' })
          .end('method not allowed\n');
        return true;
      }
      if (rest === 'assets/console.js') send(res, 200, 'text/javascript; charset=utf-8', CONSOLE_SCRIPT, 'static');
      else if (rest === 'assets/console.css') send(res, 200, 'text/css; charset=utf-8', CONSOLE_STYLE, 'static');
      else if (rest.startsWith('novnc/')) {
        readNovncFile(rest.slice('novnc/'.length)).then(
          (file) =>
            file
              ? send(res, 200, 'text/javascript; charset=utf-8', file, 'static')
              : send(res, 404, 'text/plain', 'not found\n'),
          (error: unknown) => sendError(res, error, 'html'),
        );
      } else if (/^[A-Za-z0-9_-]+$/.test(rest))
        page(res, rest).catch((error: unknown) => sendError(res, error, 'html'));
      else send(res, 404, 'text/plain', 'not found\n');
      return true;
    },
    handleUpgrade(req, socket, head) {
      const path = (req.url ?? '/').split('?')[0]!;
      const match = /^\/console\/ws\/([a-z][a-z0-9-]{0,31})\/(\d{1,9})\/([A-Za-z0-9_-]{43})$/.exec(path);
      if (!path.startsWith('/console/')) return false;
      if (!match) {
        refuseUpgrade(socket, 404, 'Not Found');
        return true;
      }
      if (req.headers.origin !== origin) {
        options.logger.warn('console: WebSocket from another origin refused', {
          origin: String(req.headers.origin ?? '(none)'),
        });
        refuseUpgrade(socket, 403, 'Forbidden');
        return true;
      }
      if (closing) {
        refuseUpgrade(socket, 503, 'Service Unavailable');
        return true;
      }
      const [, clusterId, vmid, sessionId] = match as unknown as [string, string, string, string];
      const attached = options.grants.attach(sessionId, { clusterId, vmid: Number(vmid) });
      // The session's place under the caps (all processes) is held until it ends.
      const placed = attached.then(async (grant) => ({ grant, slots: await options.grants.holdSession(grant) }));
      placed.then(
        ({ grant, slots }) =>
          wss.handleUpgrade(req, socket, head, (browser) => {
            const relay = new ConsoleRelay(options, browser, grant);
            relays.add(relay);
            void relay.done.then(() => {
              relays.delete(relay);
              return slots.release();
            });
            relay.start();
          }),
        (error: unknown) => {
          if (!isLabError(error)) options.logger.error('console: WebSocket refused after an error', { error });
          else options.logger.info('console: WebSocket refused', { code: error.code });
          const status = isLabError(error) ? (STATUS_OF[error.code] ?? 500) : 500;
          refuseUpgrade(socket, status, STATUS_CODES[status] ?? 'Error');
        },
      );
      return true;
    },
    async close() {
      closing = true;
      await Promise.all([...relays].map((r) => r.end('closed')));
      wss.close();
    },
  };
}

import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { checkPveTlsPeer, normalizeFingerprint, type PveTlsOptions } from '@lab/proxmox-sdk/pve';
import type { Logger } from '@lab/proxmox-sdk';

/** What opening a PVE WebSocket takes (`ProxmoxClient.webSocketRequest`). */
export interface PveWebSocketRequest {
  url: string;
  headers: Record<string, string>;
  tls: PveTlsOptions;
}

/**
 * A TLS connection for the WebSocket's HTTP request that is handed over only once the peer passed
 * the cluster's trust rules (CA, pinned fingerprint or `insecure`, as the API client checks them),
 * so the auth headers are never written to an untrusted server.
 */
function verifiedConnection(tls: PveTlsOptions, context: { clusterId: string; baseUrl: string; logger: Logger }) {
  return (options: ConnectionOptions, done: (error: Error | null, socket?: Socket) => void): undefined => {
    const socket: TLSSocket = connect({
      ...options,
      rejectUnauthorized: false,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    });
    socket.once('secureConnect', () => {
      const presented = socket.getPeerCertificate()?.fingerprint256 ?? '(none)';
      const problem = checkPveTlsPeer(
        socket,
        presented,
        tls.fingerprint === undefined ? undefined : normalizeFingerprint(tls.fingerprint),
        tls,
        context,
      );
      if (problem) {
        socket.destroy();
        done(problem);
      } else done(null, socket);
    });
    socket.once('error', (error: Error) => done(error));
    return undefined;
  };
}

/**
 * Opens the WebSocket PVE serves at `request.url` (`vncwebsocket`), authenticated with the lab's
 * credentials and PVE's `binary` subprotocol; resolves once it is open, paused (nothing is lost
 * before the caller listens: `resume()` it, or wrap it with `createWebSocketStream`), and rejects
 * on an HTTP refusal.
 */
export function openPveWebSocket(
  request: PveWebSocketRequest,
  context: { clusterId: string; logger: Logger; timeoutMs?: number },
): Promise<WebSocket> {
  const baseUrl = new URL(request.url).origin.replace(/^ws/, 'http');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(request.url, ['binary'], {
      headers: request.headers,
      handshakeTimeout: context.timeoutMs ?? 15_000,
      maxPayload: 64 * 1024 * 1024,
      ...(request.url.startsWith('wss:')
        ? {
            createConnection: verifiedConnection(request.tls, {
              clusterId: context.clusterId,
              baseUrl,
              logger: context.logger,
            }) as never,
          }
        : {}),
    });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => {
      // Paused until read: PVE's first bytes may come with the upgrade, before the caller listens.
      ws.pause();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(
        new Error(`PVE answered the console WebSocket with HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim()),
      );
    });
    ws.once('error', reject);
  });
}

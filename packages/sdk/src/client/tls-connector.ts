import type { TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { PveTlsError } from '../errors/pve-errors.js';
import type { Logger } from '../ports/logger.js';

/** How the client trusts a cluster's certificate. Verification is on unless `insecure` is set. */
export interface PveTlsOptions {
  /** PEM of the CA that signed the cluster's certificate (PVE's `/etc/pve/pve-root-ca.pem`). */
  ca?: string | Buffer;
  /**
   * SHA-256 fingerprint of the node certificate, as PVE's GUI shows it (`AA:BB:…`); colons and
   * case are optional. When set, exactly this certificate is accepted, whoever signed it.
   */
  fingerprint?: string;
  /** Accepts any certificate. Logs a warning on every new connection; for labs only. */
  insecure?: boolean;
}

/** `AA:BB:…` upper-case form of a SHA-256 fingerprint, or a `PveTlsError` saying what is wrong with it. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new PveTlsError(
      `tls.fingerprint must be a SHA-256 fingerprint (64 hex digits, colons optional, e.g. 'AA:BB:…'); got ${fingerprint.length} characters`,
      { fingerprint },
    );
  }
  return hex.match(/../g)!.join(':');
}

/**
 * An undici connector that enforces `options` after each handshake, before any byte is sent.
 * `build` is undici's `buildConnector`, passed in so that undici loads only with the first pool.
 */
export function createTlsConnector(
  build: typeof buildConnector,
  options: PveTlsOptions,
  context: { clusterId: string; baseUrl: string; logger: Logger },
): buildConnector.connector {
  const pinned = options.fingerprint === undefined ? undefined : normalizeFingerprint(options.fingerprint);
  const base = build({
    rejectUnauthorized: false,
    maxCachedSessions: 0,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  return (connectOptions, callback) => {
    base(connectOptions, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('no socket'), null);
        return;
      }
      if (connectOptions.protocol !== 'https:') {
        callback(null, socket);
        return;
      }
      const tlsSocket = socket as TLSSocket;
      const presented = tlsSocket.getPeerCertificate()?.fingerprint256 ?? '(none)';
      const failure = checkPeer(tlsSocket, presented, pinned, options, context);
      if (failure) {
        socket.destroy();
        callback(failure, null);
        return;
      }
      callback(null, socket);
    });
  };
}

/** Why the peer of a finished TLS handshake must not be trusted under `options`, or undefined when it may. */
export function checkPeer(
  socket: TLSSocket,
  presented: string,
  pinned: string | undefined,
  options: PveTlsOptions,
  context: { clusterId: string; baseUrl: string; logger: Logger },
): PveTlsError | undefined {
  if (pinned !== undefined) {
    if (presented === pinned) return undefined;
    return new PveTlsError(
      `certificate of ${context.baseUrl} (cluster '${context.clusterId}') does not match the pinned fingerprint: expected ${pinned}, presented ${presented}. If the node's certificate was renewed on purpose, update tls.fingerprint`,
      { clusterId: context.clusterId, expected: pinned, presented },
    );
  }
  if (options.insecure) {
    context.logger.warn('TLS verification is off (insecure: true); the connection can be intercepted', {
      clusterId: context.clusterId,
      presentedFingerprint: presented,
    });
    return undefined;
  }
  if (socket.authorized) return undefined;
  const reason = String(socket.authorizationError ?? 'unknown verification error');
  return new PveTlsError(
    `certificate of ${context.baseUrl} (cluster '${context.clusterId}') is not trusted (${reason}). Pass the cluster's CA as tls.ca, or pin the certificate with tls.fingerprint = '${presented}' after checking it in the PVE GUI (Node → System → Certificates)`,
    { clusterId: context.clusterId, reason, presented },
  );
}

import type { Dispatcher } from 'undici';
import type { Clock } from '../ports/clock.js';
import type { LabObserver } from '../ports/lab-observer.js';
import type { Logger } from '../ports/logger.js';
import type { PveTlsOptions } from './tls-connector.js';

/** An API token: `tokenId` is `USER@REALM!TOKENID`; `secret` is the UUID PVE showed once. */
export interface PveTokenAuth {
  type: 'token';
  tokenId: string;
  secret: string;
}

/** Ticket login with a password; the client logs in lazily and renews the ticket itself. */
export interface PveTicketAuth {
  type: 'ticket';
  /** `user@realm`, or `user` together with `realm`. */
  username: string;
  password: string;
  realm?: string;
}

/** How the client authenticates. Token requests need no CSRF token; ticket writes do. */
export type PveAuth = PveTokenAuth | PveTicketAuth;

/** Retry policy for requests that are safe to repeat. */
export interface PveRetryOptions {
  /** Attempts in all, the first included. @defaultValue `3` */
  maxAttempts: number;
  /** @defaultValue `200` */
  baseDelayMs: number;
  /** @defaultValue `5000` */
  maxDelayMs: number;
}

/** Options of `ProxmoxClient`. */
export interface ProxmoxClientOptions {
  /** A name for this cluster in logs and errors. @defaultValue `'default'` */
  clusterId?: string;
  /** `https://host:8006`; the client adds `/api2/json`. */
  baseUrl: string;
  auth: PveAuth;
  /** Certificate trust; verification is on by default. */
  tls?: PveTlsOptions;
  /** Per-request deadline, at most `MAX_TIMER_MS`. @defaultValue `30000` */
  timeoutMs?: number;
  /**
   * The longest answer the client reads; a longer one fails with `PveResponseTooLargeError` as
   * soon as the limit is crossed. At most `MAX_RESPONSE_BYTES`. @defaultValue `67108864` (64 MiB)
   */
  maxResponseBytes?: number;
  retry?: Partial<PveRetryOptions>;
  /** Requests in flight at once to this cluster; the rest queue. @defaultValue `8` */
  maxConcurrentRequests?: number;
  /** Renew a ticket older than this (PVE tickets live 2 h). @defaultValue `6000000` (100 min) */
  ticketRenewAfterMs?: number;
  /** Replaces the undici `Pool` (tests, proxies). TLS options are then the dispatcher's business. */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** Told of every HTTP exchange (endpoint, status, duration) for metrics; see `LabObserver`. */
  observer?: LabObserver;
  clock?: Clock;
  /** Source of jitter for backoff. @defaultValue `Math.random` */
  random?: () => number;
}

/** The highest `maxResponseBytes` allowed (256 MiB): far above any PVE answer, far below V8's string limit. */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** The defaults of every optional client setting, in one place. */
export const DefaultClientOptions = {
  clusterId: 'default',
  timeoutMs: 30_000,
  maxResponseBytes: 64 * 1024 * 1024,
  retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5_000 },
  maxConcurrentRequests: 8,
  ticketRenewAfterMs: 100 * 60 * 1000,
} as const satisfies {
  clusterId: string;
  timeoutMs: number;
  maxResponseBytes: number;
  retry: PveRetryOptions;
  maxConcurrentRequests: number;
  ticketRenewAfterMs: number;
};

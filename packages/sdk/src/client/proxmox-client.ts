import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { LabError } from '../errors/lab-error.js';
import {
  ConfigError,
  PveAuthError,
  PveConnectionError,
  PveResponseTooLargeError,
  PveTimeoutError,
  type PveRequestFacts,
} from '../errors/pve-errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { notifyObserver, pveEndpointTemplate, type LabObserver } from '../ports/lab-observer.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi, PveParams, PveRequestOptions } from '../ports/pve-api.js';
import { scrub } from '../util/redact.js';
import { assertTimerMs } from '../util/timer-limit.js';
import {
  DefaultClientOptions,
  MAX_RESPONSE_BYTES,
  type PveAuth,
  type PveRetryOptions,
  type ProxmoxClientOptions,
} from './client-options.js';
import { ConcurrencyLimiter } from '../util/concurrency-limiter.js';
import { BodyTooLargeError, DispatchFailure, dispatchRequest, type RawResponse } from './dispatch-request.js';
import { encodePveParams } from './form-encoding.js';
import { pveHttpErrorFrom, readPveData } from './pve-envelope.js';
import { TransportRetryPolicy } from './retry-policy.js';
import { createPvePool } from './pve-pool.js';
import { normalizeFingerprint, type PveTlsOptions } from './tls-connector.js';
import { parsePveBaseUrl } from './pve-base-url.js';
import { checkOptions, type OptionKinds } from '../util/constructor-options.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const ticketSchema = z.object({
  ticket: z.string().min(1),
  CSRFPreventionToken: z.string().min(1),
  username: z.string(),
});

interface TicketState {
  ticket: string;
  csrf: string;
  obtainedAt: number;
}

const versionSchema = z.object({ version: z.string(), release: z.string(), repoid: z.string() }).loose();

/** What `GET /version` reports. */
export type PveVersion = z.infer<typeof versionSchema>;

/**
 * The Proxmox VE API client for one cluster: an undici `Pool` with keep-alive (created with the
 * first request, so a client that never sends one costs no connection and no undici), token or ticket
 * auth (with CSRF on writes and one re-login on 401), verified TLS (CA or fingerprint pinning),
 * per-request timeouts, safe retries with jittered backoff (the one retry policy of the SDK, optionally
 * bounded by a shared `RetryBudget`), and a concurrency cap so pveproxy is
 * never flooded. Implements `PveApi`.
 */
export class ProxmoxClient implements PveApi {
  readonly clusterId: string;
  readonly baseUrl: string;
  readonly #auth: PveAuth;
  /** The caller's dispatcher (`options.dispatcher`); otherwise the client creates and owns a pool. */
  readonly #given: Dispatcher | undefined;
  #pool: Promise<Dispatcher> | undefined;
  #closed = false;
  readonly #maxConcurrent: number;
  readonly #limiter: ConcurrencyLimiter;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #retry: PveRetryOptions;
  readonly #renewAfterMs: number;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #retryPolicy: TransportRetryPolicy;
  readonly #secrets: string[];
  readonly #observer: LabObserver | undefined;
  readonly #tls: PveTlsOptions;
  #ticket: TicketState | undefined;
  #login: Promise<TicketState> | undefined;

  constructor(options: ProxmoxClientOptions) {
    checkOptions('new ProxmoxClient', options, CLIENT_OPTION_KINDS, {
      baseUrl: "the cluster's URL, e.g. https://pve1.example.org:8006",
      auth: "{ type: 'token', tokenId: 'lab@pve!bot', secret } or { type: 'ticket', username, password }",
    });
    this.clusterId = options.clusterId ?? DefaultClientOptions.clusterId;
    this.baseUrl = parsePveBaseUrl(options.baseUrl, this.clusterId).origin;
    this.#auth = validateAuth(options.auth, this.clusterId);
    this.#secrets = this.#auth.type === 'token' ? [this.#auth.secret] : [this.#auth.password];
    this.#logger = (options.logger ?? silentLogger).child({ clusterId: this.clusterId });
    this.#clock = options.clock ?? systemClock;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    this.#tls = options.tls ?? {};
    this.#timeoutMs = options.timeoutMs ?? DefaultClientOptions.timeoutMs;
    assertTimerMs(this.#timeoutMs, `cluster '${this.clusterId}': timeoutMs`);
    this.#maxResponseBytes = options.maxResponseBytes ?? DefaultClientOptions.maxResponseBytes;
    if (
      !Number.isInteger(this.#maxResponseBytes) ||
      this.#maxResponseBytes < 1 ||
      this.#maxResponseBytes > MAX_RESPONSE_BYTES
    ) {
      throw new ConfigError(
        `cluster '${this.clusterId}': maxResponseBytes must be a whole number from 1 to ${MAX_RESPONSE_BYTES} (got ${this.#maxResponseBytes})`,
        { clusterId: this.clusterId, key: 'maxResponseBytes' },
      );
    }
    this.#retry = { ...DefaultClientOptions.retry, ...options.retry };
    assertTimerMs(this.#retry.baseDelayMs, `cluster '${this.clusterId}': retry.baseDelayMs`, 0);
    assertTimerMs(this.#retry.maxDelayMs, `cluster '${this.clusterId}': retry.maxDelayMs`, 0);
    this.#retryPolicy = new TransportRetryPolicy(this.#retry, this.#random);
    this.#renewAfterMs = options.ticketRenewAfterMs ?? DefaultClientOptions.ticketRenewAfterMs;
    this.#maxConcurrent = options.maxConcurrentRequests ?? DefaultClientOptions.maxConcurrentRequests;
    this.#limiter = new ConcurrencyLimiter(this.#maxConcurrent);
    this.#given = options.dispatcher;
    // A malformed pin is a configuration error now, not at the first request.
    if (!this.#given && this.#tls.fingerprint !== undefined) normalizeFingerprint(this.#tls.fingerprint);
  }

  /** `GET path`; retried on transient failures. */
  get<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T> {
    return this.#request('GET', path, params, options);
  }

  /** `POST path` (form-encoded); retried only when PVE provably never saw it, unless `idempotent`. */
  post<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T> {
    return this.#request('POST', path, params, options);
  }

  /** `PUT path` (form-encoded). */
  put<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T> {
    return this.#request('PUT', path, params, options);
  }

  /** `DELETE path` (parameters in the query string, as PVE reads them). */
  delete<T = unknown>(path: string, params?: PveParams, options?: PveRequestOptions<T>): Promise<T> {
    return this.#request('DELETE', path, params, options);
  }

  /** PVE's version (`GET /version`): a cheap way to check URL, TLS and credentials. */
  version(): Promise<PveVersion> {
    return this.get('/version', undefined, { schema: versionSchema });
  }

  /**
   * What opening a WebSocket on `path` (below `/api2/json`, e.g. a `vncwebsocket?…` path) takes:
   * its `wss:` URL, this client's auth headers and the cluster's TLS trust. The headers are
   * credentials: keep them on the server and out of logs.
   */
  async webSocketRequest(path: string): Promise<{ url: string; headers: Record<string, string>; tls: PveTlsOptions }> {
    return {
      url: `${this.baseUrl.replace(/^http/, 'ws')}/api2/json${path}`,
      headers: await this.#authHeaders('GET'),
      tls: { ...this.#tls },
    };
  }

  /** Closes the connection pool (only one the client created itself); later requests fail. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pool) await (await this.#pool).close();
  }

  /** The dispatcher requests go through: the caller's, or the client's own pool, created once. */
  #dispatcher(): Dispatcher | Promise<Dispatcher> {
    if (this.#given) return this.#given;
    if (!this.#pool && this.#closed)
      throw new DispatchFailure(
        Object.assign(new Error('the PVE client is closed'), { code: 'UND_ERR_CLOSED' }),
        false,
      );
    this.#pool ??= createPvePool(this.baseUrl, {
      connections: this.#maxConcurrent,
      tls: this.#tls,
      clusterId: this.clusterId,
      logger: this.#logger,
    });
    return this.#pool;
  }

  async #request<T>(
    method: Method,
    path: string,
    params: PveParams | undefined,
    options: PveRequestOptions<T> = {},
  ): Promise<T> {
    if (!path.startsWith('/'))
      throw new LabError('LAB_PVE_BAD_PATH', `PVE paths start with '/', got '${path}'`, { path });
    const idempotent = options.idempotent ?? method === 'GET';
    const facts: PveRequestFacts = { clusterId: this.clusterId, method, path };
    const budget = options.retryBudget;
    budget?.recordRequest();
    const call = { idempotent, retryServerErrors: options.retryServerErrors === true, budget };
    for (let attempt = 1; ; attempt++) {
      try {
        const raw = await this.#limiter.run(() => this.#exchange(method, path, params, options, facts));
        return readPveData(raw, facts, options.schema);
      } catch (error) {
        const next = this.#retryPolicy.decide(error, attempt, { ...call, aborted: options.signal?.aborted === true });
        if (!next.retry) {
          if (next.budgetSpent)
            this.#logger.warn('retry budget spent; not retrying PVE request', {
              method,
              path,
              attempt,
              retries: budget?.retries,
              error,
            });
          throw error;
        }
        this.#logger.debug('retrying PVE request', { method, path, attempt, delayMs: next.delayMs, error });
        await this.#clock.sleep(next.delayMs, options.signal);
      }
    }
  }

  /** One authenticated exchange; on a 401 with ticket auth, logs in again and repeats once. */
  async #exchange(
    method: Method,
    path: string,
    params: PveParams | undefined,
    options: PveRequestOptions,
    facts: PveRequestFacts,
  ): Promise<RawResponse> {
    let raw = await this.#send(method, path, params, options, facts, await this.#authHeaders(method));
    if (raw.status === 401 && this.#auth.type === 'ticket') {
      this.#logger.info('PVE ticket refused; logging in again', { method, path });
      this.#ticket = undefined;
      raw = await this.#send(method, path, params, options, facts, await this.#authHeaders(method));
    }
    if (raw.status === 401) {
      throw new PveAuthError(
        this.#auth.type === 'token'
          ? `cluster '${this.clusterId}' refused API token '${this.#auth.tokenId}' (${raw.statusText || 'HTTP 401'}): check the token id and secret, and that the token exists and has not expired`
          : `cluster '${this.clusterId}' refused the ticket of '${this.#auth.username}' even after a fresh login (${raw.statusText || 'HTTP 401'})`,
        { ...facts, status: 401 },
      );
    }
    if (raw.status < 200 || raw.status >= 300)
      throw pveHttpErrorFrom({ ...raw, statusText: scrub(raw.statusText, this.#secrets) }, facts);
    return raw;
  }

  async #authHeaders(method: Method): Promise<Record<string, string>> {
    if (this.#auth.type === 'token') return { authorization: `PVEAPIToken=${this.#auth.tokenId}=${this.#auth.secret}` };
    const ticket = await this.#currentTicket();
    const headers: Record<string, string> = { cookie: `PVEAuthCookie=${encodeURIComponent(ticket.ticket)}` };
    if (method !== 'GET') headers['csrfpreventiontoken'] = ticket.csrf;
    return headers;
  }

  async #currentTicket(): Promise<TicketState> {
    const ticket = this.#ticket;
    if (ticket && this.#clock.now() - ticket.obtainedAt < this.#renewAfterMs) return ticket;
    this.#login ??= this.#logIn().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #logIn(): Promise<TicketState> {
    const auth = this.#auth as Extract<PveAuth, { type: 'ticket' }>;
    const facts: PveRequestFacts = { clusterId: this.clusterId, method: 'POST', path: '/access/ticket' };
    const params = { username: auth.username, password: auth.password, ...(auth.realm ? { realm: auth.realm } : {}) };
    const raw = await this.#send('POST', '/access/ticket', params, {}, facts, {});
    if (raw.status === 401 || raw.status === 403) {
      throw new PveAuthError(
        `cluster '${this.clusterId}' refused the login of '${auth.username}${auth.realm ? `@${auth.realm}` : ''}': check the user name, realm and password`,
        { ...facts, status: raw.status },
      );
    }
    if (raw.status < 200 || raw.status >= 300) throw pveHttpErrorFrom(raw, facts);
    const data = readPveData(raw, facts, ticketSchema);
    const state = { ticket: data.ticket, csrf: data.CSRFPreventionToken, obtainedAt: this.#clock.now() };
    this.#secrets.push(data.ticket, data.CSRFPreventionToken);
    this.#ticket = state;
    this.#logger.debug('logged in to PVE', { username: data.username });
    return state;
  }

  async #send(
    method: Method,
    path: string,
    params: PveParams | undefined,
    options: PveRequestOptions,
    facts: PveRequestFacts,
    authHeaders: Record<string, string>,
  ): Promise<RawResponse> {
    const encoded = encodePveParams(params);
    const inBody = method === 'POST' || method === 'PUT';
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders };
    if (inBody) headers['content-type'] = 'application/x-www-form-urlencoded';
    const url = `/api2/json${path}${!inBody && encoded ? `?${encoded}` : ''}`;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    assertTimerMs(timeoutMs, `${method} ${path}: timeoutMs`);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new PveTimeoutError({ ...facts, timeoutMs })), timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
    const started = performance.now();
    const observe = (status: number | null, errorCode: string | null): void =>
      notifyObserver(this.#observer, 'pveRequest', {
        clusterId: this.clusterId,
        method,
        endpoint: pveEndpointTemplate(path),
        status,
        durationMs: performance.now() - started,
        errorCode,
      });
    try {
      const raw = await dispatchRequest(await this.#dispatcher(), {
        method,
        path: url,
        headers,
        ...(inBody ? { body: encoded } : {}),
        signal,
        maxBodyBytes: this.#maxResponseBytes,
      });
      this.#logger.debug('PVE request', {
        method,
        path,
        status: raw.status,
        ms: Math.round(performance.now() - started),
      });
      observe(raw.status, null);
      return raw;
    } catch (error) {
      const failure = this.#translateFailure(error, facts, deadline.signal, options.signal);
      observe(null, failure instanceof LabError ? failure.code : 'LAB_PVE_UNKNOWN');
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  #translateFailure(
    error: unknown,
    facts: PveRequestFacts,
    deadline: AbortSignal,
    callerSignal?: AbortSignal,
  ): unknown {
    if (!(error instanceof DispatchFailure)) return error;
    if (deadline.aborted) return deadline.reason;
    if (callerSignal?.aborted) return callerSignal.reason;
    const cause = error.cause;
    if (cause instanceof BodyTooLargeError)
      return new PveResponseTooLargeError({ ...facts, maxResponseBytes: cause.limitBytes });
    if (cause instanceof LabError) return cause;
    const code = (cause as { code?: string }).code;
    const reason = scrub(code ? `${code}: ${cause.message}` : cause.message, this.#secrets);
    const connectPhase =
      code !== undefined &&
      /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT)$/.test(code);
    return new PveConnectionError({ ...facts, requestSent: error.requestSent && !connectPhase, reason }, { cause });
  }
}

/** What each option of `ProxmoxClient` must be, checked before any is used. */
const CLIENT_OPTION_KINDS: OptionKinds = {
  baseUrl: 'string',
  auth: 'object',
  clusterId: 'string?',
  tls: 'object?',
  timeoutMs: 'number?',
  maxResponseBytes: 'number?',
  retry: 'object?',
  maxConcurrentRequests: 'number?',
  ticketRenewAfterMs: 'number?',
  dispatcher: 'object?',
  logger: 'object?',
  observer: 'object?',
  clock: 'object?',
  random: 'function?',
};

function validateAuth(auth: PveAuth, clusterId: string): PveAuth {
  const type: unknown = auth.type;
  if (type !== 'token' && type !== 'ticket')
    throw new ConfigError(
      `cluster '${clusterId}': auth.type must be 'token' or 'ticket', got ${JSON.stringify(type)}`,
      {
        clusterId,
        key: 'auth.type',
      },
    );
  const fields = type === 'token' ? (['tokenId', 'secret'] as const) : (['username', 'password'] as const);
  for (const field of fields) {
    const value: unknown = (auth as unknown as Record<string, unknown>)[field];
    if (value !== undefined && typeof value !== 'string')
      throw new ConfigError(`cluster '${clusterId}': auth.${field} must be a string`, {
        clusterId,
        key: `auth.${field}`,
      });
  }
  if (auth.type === 'token') {
    if (!/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$/.test(auth.tokenId)) {
      throw new LabError(
        'LAB_CONFIG',
        `cluster '${clusterId}': tokenId '${auth.tokenId}' must look like USER@REALM!TOKENID (e.g. lab@pve!bot)`,
        { clusterId, key: 'tokenId' },
      );
    }
    if (!auth.secret)
      throw new LabError('LAB_CONFIG', `cluster '${clusterId}': the API token secret is empty`, {
        clusterId,
        key: 'tokenSecret',
      });
    return auth;
  }
  if (!auth.username)
    throw new LabError('LAB_CONFIG', `cluster '${clusterId}': ticket auth needs a username`, {
      clusterId,
      key: 'username',
    });
  if (!auth.password)
    throw new LabError('LAB_CONFIG', `cluster '${clusterId}': ticket auth needs a password`, {
      clusterId,
      key: 'password',
    });
  return auth;
}

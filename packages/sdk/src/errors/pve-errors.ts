import { LabError } from './lab-error.js';

/** Where a failed request went; never carries headers, bodies or secrets. */
export interface PveRequestFacts {
  clusterId: string;
  method: string;
  path: string;
}

/** PVE answered with a non-2xx status. `errors` is PVE's per-parameter map (HTTP 400). */
export class PveHttpError extends LabError {
  static override readonly brand: string = '@lab/PveHttpError';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly clusterId: string;
  /** PVE's reason phrase / `message` text, trimmed. */
  readonly pveMessage: string;
  /** PVE's per-parameter validation errors (`{"errors": {"vmid": "…"}}`), when present. */
  readonly errors: Readonly<Record<string, string>>;

  constructor(facts: PveRequestFacts & { status: number; pveMessage: string; errors?: Record<string, string> }) {
    const errors = facts.errors ?? {};
    const detail = Object.entries(errors)
      .map(([param, msg]) => `${param}: ${msg.trim()}`)
      .join('; ');
    const text = [facts.pveMessage, detail].filter((s) => s.length > 0).join(' — ');
    super(
      `LAB_PVE_HTTP_${facts.status}`,
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' failed with HTTP ${facts.status}: ${text || 'no message from PVE'}`,
      { ...facts, errors },
    );
    this.status = facts.status;
    this.method = facts.method;
    this.path = facts.path;
    this.clusterId = facts.clusterId;
    this.pveMessage = facts.pveMessage;
    this.errors = errors;
  }
}

/** Credentials were refused, or a ticket could not be renewed. */
export class PveAuthError extends LabError {
  static override readonly brand: string = '@lab/PveAuthError';
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('LAB_PVE_AUTH', message, data, options);
  }
}

/** The TLS handshake failed: untrusted certificate or a pinned fingerprint that does not match. */
export class PveTlsError extends LabError {
  static override readonly brand: string = '@lab/PveTlsError';
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('LAB_PVE_TLS', message, data, options);
  }
}

/** A request did not complete within its timeout. */
export class PveTimeoutError extends LabError {
  static override readonly brand: string = '@lab/PveTimeoutError';
  readonly timeoutMs: number;
  constructor(facts: PveRequestFacts & { timeoutMs: number }) {
    super(
      'LAB_PVE_TIMEOUT',
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' got no answer within ${facts.timeoutMs} ms; check that the node is reachable or raise timeoutMs`,
      { ...facts },
    );
    this.timeoutMs = facts.timeoutMs;
  }
}

/** The connection failed (refused, reset, DNS) before a response arrived. */
export class PveConnectionError extends LabError {
  static override readonly brand: string = '@lab/PveConnectionError';
  /** Whether the request had been fully written before the failure (it may have taken effect). */
  readonly requestSent: boolean;
  constructor(facts: PveRequestFacts & { requestSent: boolean; reason: string }, options?: { cause?: unknown }) {
    super(
      'LAB_PVE_CONNECTION',
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' failed: ${facts.reason}; check the cluster URL and that pveproxy is running`,
      { ...facts },
      options,
    );
    this.requestSent = facts.requestSent;
  }
}

/** PVE's answer was not JSON, or did not have the shape the SDK relies on. */
export class PveResponseShapeError extends LabError {
  static override readonly brand: string = '@lab/PveResponseShapeError';
  /** Where the answer went wrong, e.g. `data[3].vmid: expected number`. */
  readonly issues: readonly string[];
  constructor(facts: PveRequestFacts & { issues: string[]; bodyExcerpt?: string }) {
    super(
      'LAB_PVE_RESPONSE_SHAPE',
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' returned an unexpected response: ${facts.issues.slice(0, 5).join('; ')}`,
      { ...facts },
    );
    this.issues = facts.issues;
  }
}

function sizeText(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

/**
 * PVE's answer was longer than the client's `maxResponseBytes`; the client stopped reading at the
 * limit and dropped the connection, so no oversized body is ever held in memory.
 */
export class PveResponseTooLargeError extends LabError {
  static override readonly brand: string = '@lab/PveResponseTooLargeError';
  readonly maxResponseBytes: number;
  constructor(facts: PveRequestFacts & { maxResponseBytes: number }) {
    super(
      'LAB_PVE_RESPONSE_TOO_LARGE',
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' answered more than ${sizeText(facts.maxResponseBytes)}, so reading stopped there; if answers this large are expected, raise maxResponseBytes (clusters[].maxResponseBytes in lab.config.json)`,
      { ...facts },
    );
    this.maxResponseBytes = facts.maxResponseBytes;
  }
}

/** A PVE task ended with an error exit status. */
export class PveTaskFailedError extends LabError {
  static override readonly brand: string = '@lab/PveTaskFailedError';
  readonly upid: string;
  readonly exitstatus: string;
  readonly logTail: readonly string[];
  constructor(facts: { clusterId: string; upid: string; exitstatus: string; logTail: string[] }) {
    super(
      'LAB_PVE_TASK_FAILED',
      `task ${facts.upid} on cluster '${facts.clusterId}' failed: ${facts.exitstatus}`,
      { ...facts },
    );
    this.upid = facts.upid;
    this.exitstatus = facts.exitstatus;
    this.logTail = facts.logTail;
  }
}

/** A PVE task was still running when the caller's deadline passed. */
export class PveTaskTimeoutError extends LabError {
  static override readonly brand: string = '@lab/PveTaskTimeoutError';
  readonly upid: string;
  readonly logTail: readonly string[];
  constructor(facts: { clusterId: string; upid: string; timeoutMs: number; logTail: string[] }) {
    super(
      'LAB_PVE_TASK_TIMEOUT',
      `task ${facts.upid} on cluster '${facts.clusterId}' was still running after ${facts.timeoutMs} ms`,
      { ...facts },
    );
    this.upid = facts.upid;
    this.logTail = facts.logTail;
  }
}

/** A string is not a valid PVE task id (UPID). */
export class InvalidUpidError extends LabError {
  static override readonly brand: string = '@lab/InvalidUpidError';
  constructor(upid: string) {
    super('LAB_INVALID_UPID', `'${upid}' is not a PVE task id (expected UPID:node:pid:pstart:starttime:type:id:user:)`, { upid });
  }
}

/** A configuration value is missing or wrong; `key` points at it. */
export class ConfigError extends LabError {
  static override readonly brand: string = '@lab/ConfigError';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('LAB_CONFIG', message, data);
  }
}

/** No cluster with that id is configured; `known` lists the ones that are. */
export class UnknownClusterError extends LabError {
  static override readonly brand: string = '@lab/UnknownClusterError';
  constructor(clusterId: string, known: string[]) {
    super(
      'LAB_UNKNOWN_CLUSTER',
      `no cluster '${clusterId}' is configured; known clusters: ${known.length ? known.join(', ') : '(none)'}`,
      { clusterId, known },
    );
  }
}

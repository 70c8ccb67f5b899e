import { LabError } from './lab-error.js';

/** Where a failed request went; never carries headers, bodies or secrets. */
export interface PveRequestFacts {
  clusterId: string;
  method: string;
  path: string;
}

/** PVE answered with a non-2xx status. `errors` is PVE's per-parameter map (HTTP 400). */
export class PveHttpError extends LabError {
  /** The prefix of this class's codes: each error carries `LAB_PVE_HTTP_<status>`, e.g. `LAB_PVE_HTTP_500`. */
  static override readonly code: string = 'LAB_PVE_HTTP';
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
      `${PveHttpError.code}_${facts.status}`,
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

/**
 * PVE refused a request for lack of a privilege: HTTP 403 `Permission check failed (<path>,
 * <privilege>)` (pve-common `raise_perm_exc`), or a preflight found the privilege missing before
 * anything was sent. The message is written for the person who asked (a teacher in chat); `path`
 * and `privilege` say what to grant. Still a `PveHttpError` (status 403) for code that checks that.
 */
export class PvePermissionError extends PveHttpError {
  static override readonly code: string = 'LAB_PVE_PERMISSION';
  /** The ACL path PVE checked (`/vms/9000`), when PVE named one. */
  readonly aclPath: string | undefined;
  /** The missing privilege (`VM.Clone`), or several joined by `|` when any one would do. */
  readonly privilege: string | undefined;

  /** The cluster's Proxmox VE version, when the refusal came from a check by version (the preflight). */
  readonly pveVersion: string | undefined;

  constructor(
    facts: PveRequestFacts & { pveMessage: string; aclPath?: string; privilege?: string; pveVersion?: string },
  ) {
    super({ ...facts, status: 403 });
    this.pveVersion = facts.pveVersion;
    const parsed = parsePermissionMessage(facts.pveMessage);
    this.aclPath = facts.aclPath ?? parsed.path;
    this.privilege = facts.privilege ?? parsed.privilege;
    const what =
      this.privilege && this.aclPath
        ? `${this.privilege} on ${this.aclPath}`
        : (parsed.detail ?? 'a privilege this needs');
    Object.defineProperty(this, 'code', { value: PvePermissionError.code });
    Object.defineProperty(this, 'data', {
      value: {
        ...this.data,
        aclPath: this.aclPath,
        privilege: this.privilege,
        ...(this.pveVersion ? { pveVersion: this.pveVersion } : {}),
      },
    });
    const version = this.pveVersion ? `, which Proxmox VE ${this.pveVersion} needs here` : '';
    this.message = `Proxmox refused: the lab's token lacks ${what}${version} — ask your admin to run \`lab doctor\`.`;
  }
}

/** Splits PVE's `Permission check failed (/vms/9000, VM.Clone)` into path and privilege. */
export function parsePermissionMessage(message: string): { path?: string; privilege?: string; detail?: string } {
  const inner = /Permission check failed(?: \((.*)\))?/.exec(message)?.[1];
  if (!inner) return {};
  const m = /^(\/[^,]*), (.+)$/.exec(inner.trim());
  return m ? { path: m[1]!, privilege: m[2]!.trim() } : { detail: inner.trim() };
}

/** Credentials were refused, or a ticket could not be renewed. */
export class PveAuthError extends LabError {
  static override readonly code: string = 'LAB_PVE_AUTH';
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(PveAuthError.code, message, data, options);
  }
}

/** The TLS handshake failed: untrusted certificate or a pinned fingerprint that does not match. */
export class PveTlsError extends LabError {
  static override readonly code: string = 'LAB_PVE_TLS';
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(PveTlsError.code, message, data, options);
  }
}

/** A request did not complete within its timeout. */
export class PveTimeoutError extends LabError {
  static override readonly code: string = 'LAB_PVE_TIMEOUT';
  readonly timeoutMs: number;
  constructor(facts: PveRequestFacts & { timeoutMs: number }) {
    super(
      PveTimeoutError.code,
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' got no answer within ${facts.timeoutMs} ms; check that the node is reachable or raise timeoutMs`,
      { ...facts },
    );
    this.timeoutMs = facts.timeoutMs;
  }
}

/** The connection failed (refused, reset, DNS) before a response arrived. */
export class PveConnectionError extends LabError {
  static override readonly code: string = 'LAB_PVE_CONNECTION';
  /** Whether the request had been fully written before the failure (it may have taken effect). */
  readonly requestSent: boolean;
  constructor(facts: PveRequestFacts & { requestSent: boolean; reason: string }, options?: { cause?: unknown }) {
    super(
      PveConnectionError.code,
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' failed: ${facts.reason}; check the cluster URL and that pveproxy is running`,
      { ...facts },
      options,
    );
    this.requestSent = facts.requestSent;
  }
}

/** PVE's answer was not JSON, or did not have the shape the SDK relies on. */
export class PveResponseShapeError extends LabError {
  static override readonly code: string = 'LAB_PVE_RESPONSE_SHAPE';
  /** Where the answer went wrong, e.g. `data[3].vmid: expected number`. */
  readonly issues: readonly string[];
  constructor(facts: PveRequestFacts & { issues: string[]; bodyExcerpt?: string }) {
    super(
      PveResponseShapeError.code,
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
  static override readonly code: string = 'LAB_PVE_RESPONSE_TOO_LARGE';
  readonly maxResponseBytes: number;
  constructor(facts: PveRequestFacts & { maxResponseBytes: number }) {
    super(
      PveResponseTooLargeError.code,
      `${facts.method} ${facts.path} on cluster '${facts.clusterId}' answered more than ${sizeText(facts.maxResponseBytes)}, so reading stopped there; if answers this large are expected, raise maxResponseBytes (clusters[].maxResponseBytes in lab.config.json)`,
      { ...facts },
    );
    this.maxResponseBytes = facts.maxResponseBytes;
  }
}

/** A PVE task ended with an error exit status. */
export class PveTaskFailedError extends LabError {
  static override readonly code: string = 'LAB_PVE_TASK_FAILED';
  readonly upid: string;
  readonly exitstatus: string;
  readonly logTail: readonly string[];
  constructor(facts: { clusterId: string; upid: string; exitstatus: string; logTail: string[] }) {
    super(PveTaskFailedError.code, `task ${facts.upid} on cluster '${facts.clusterId}' failed: ${facts.exitstatus}`, {
      ...facts,
    });
    this.upid = facts.upid;
    this.exitstatus = facts.exitstatus;
    this.logTail = facts.logTail;
  }
}

/** A PVE task was still running when the caller's deadline passed. */
export class PveTaskTimeoutError extends LabError {
  static override readonly code: string = 'LAB_PVE_TASK_TIMEOUT';
  readonly upid: string;
  readonly logTail: readonly string[];
  constructor(facts: { clusterId: string; upid: string; timeoutMs: number; logTail: string[] }) {
    super(
      PveTaskTimeoutError.code,
      `task ${facts.upid} on cluster '${facts.clusterId}' was still running after ${facts.timeoutMs} ms`,
      { ...facts },
    );
    this.upid = facts.upid;
    this.logTail = facts.logTail;
  }
}

/** A string is not a valid PVE task id (UPID). */
export class InvalidUpidError extends LabError {
  static override readonly code: string = 'LAB_INVALID_UPID';
  constructor(upid: string) {
    super(
      InvalidUpidError.code,
      `'${upid}' is not a PVE task id (expected UPID:node:pid:pstart:starttime:type:id:user:)`,
      { upid },
    );
  }
}

/** A configuration value is missing or wrong; `key` points at it. */
export class ConfigError extends LabError {
  static override readonly code: string = 'LAB_CONFIG';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(ConfigError.code, message, data);
  }
}

/** No cluster with that id is configured; `known` lists the ones that are. */
export class UnknownClusterError extends LabError {
  static override readonly code: string = 'LAB_UNKNOWN_CLUSTER';
  constructor(clusterId: string, known: string[]) {
    super(
      UnknownClusterError.code,
      `no cluster '${clusterId}' is configured; known clusters: ${known.length ? known.join(', ') : '(none)'}`,
      { clusterId, known },
    );
  }
}

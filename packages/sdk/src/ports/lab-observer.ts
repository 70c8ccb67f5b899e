/** What one sync of one cluster did. */
export interface ClusterSyncReport {
  clusterId: string;
  /** VMs with Proxmox Lab's tags registered as their class's in this sync (made by Terraform, say). */
  adopted?: number;
  kind: 'full' | 'quick';
  ok: boolean;
  /** Set when the cluster was skipped because it is backing off after failures. */
  skipped?: 'backoff';
  error?: string;
  vms: number;
  added: number;
  changed: number;
  gone: number;
  configRequests: number;
  agentRequests: number;
  probes: number;
  durationMs: number;
}

/** One HTTP exchange with a cluster's API, as a {@link LabObserver} sees it. */
export interface PveRequestRecord {
  clusterId: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /**
   * The path with its variable parts replaced by placeholders (`/nodes/{node}/qemu/{vmid}/status/start`,
   * see {@link pveEndpointTemplate}), so a metrics label has a bounded number of values.
   */
  endpoint: string;
  /** The HTTP status, or `null` when no answer came (timeout, refused connection, reset). */
  status: number | null;
  /** Wall time of the exchange, queueing behind the client's concurrency cap excluded. */
  durationMs: number;
  /** The stable code of the failure (`LAB_PVE_TIMEOUT`, `LAB_PVE_CONNECTION`) when there was no answer. */
  errorCode: string | null;
}

/**
 * What the SDK reports as it works, for metrics. Every member is optional and called synchronously
 * on the hot path: keep it cheap and never throw (an exception is caught and dropped). The SDK
 * depends on no metrics library; an adapter (`prom-client` in `lab serve`) implements this port.
 */
export interface LabObserver {
  /** After every HTTP exchange of a `ProxmoxClient`, retries included (one call per attempt). */
  pveRequest?(record: PveRequestRecord): void;
  /** After every full or quick sync of one cluster by a `SyncEngine`, failed and skipped ones included. */
  syncFinished?(report: ClusterSyncReport): void;
}

/** Calls `fn` on `observer`, swallowing anything it throws: an observer never breaks the work it watches. */
export function notifyObserver<K extends keyof LabObserver>(
  observer: LabObserver | undefined,
  member: K,
  arg: Parameters<NonNullable<LabObserver[K]>>[0],
): void {
  const fn = observer?.[member] as ((a: typeof arg) => void) | undefined;
  if (!fn) return;
  try {
    fn.call(observer, arg);
  } catch {
    // an observer's own failure is not the caller's
  }
}

/** Path segments after these words are names chosen by people or PVE, not part of the endpoint. */
const NAMED_AFTER: Record<string, string> = {
  nodes: '{node}',
  storage: '{storage}',
  tasks: '{upid}',
  pools: '{pool}',
  users: '{userid}',
  groups: '{groupid}',
  roles: '{roleid}',
  token: '{tokenid}',
  snapshot: '{snapname}',
  content: '{volume}',
  domains: '{realm}',
  acme: '{segment}',
};

/**
 * A PVE API path reduced to its endpoint: `/nodes/pve1/qemu/104/status/start` →
 * `/nodes/{node}/qemu/{vmid}/status/start`. The query string is dropped, numbers become `{vmid}`
 * and the segment after a collection (`nodes`, `storage`, `tasks`, `pools`, …) becomes its
 * placeholder, so the result has a bounded number of values whatever the cluster holds.
 */
export function pveEndpointTemplate(path: string): string {
  const segments = path.split('?')[0]!.split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const previous = segments[i - 1];
    if (i > 0 && previous !== undefined && NAMED_AFTER[previous] !== undefined && segment !== '')
      out.push(NAMED_AFTER[previous]);
    else if (/^\d+$/.test(segment)) out.push('{vmid}');
    else if (segment.startsWith('UPID:')) out.push('{upid}');
    else out.push(segment);
  }
  return out.join('/') || '/';
}

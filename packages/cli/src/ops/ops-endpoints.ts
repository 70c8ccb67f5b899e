import type { IncomingMessage, ServerResponse } from 'node:http';
import { clusterReadiness, type Store } from '@lab/proxmox-sdk';
import { PROCESS_LEASES, holderIdsOf, type LabMetrics } from './lab-metrics.js';

/** The paths {@link createOpsEndpoints} answers; every other request goes to the bot. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** What `/readyz` checks. */
export interface ReadinessSources {
  store: Store;
  /** Cluster ids, in configuration order. */
  clusterIds: () => string[];
  /** Whether inventory sync runs at all (`sync.enabled`); when not, clusters are not checked. */
  syncEnabled: boolean;
  /** A cluster is ready when its last successful sync is at most this old (`clusterAnswerMaxAgeMs`, as `sync status` judges). */
  clusterMaxAgeMs: number;
  /** This process's holder id in the sync lease, when it runs a sync engine. */
  holderId?: string;
  /** This process's holder id in the other leases it may hold (the class scheduler's). */
  leaseHolderIds?: Partial<Record<string, string>>;
  /** How long the store may take to answer. @defaultValue 2000 */
  storeTimeoutMs?: number;
  now?: () => number;
}

/** The JSON body of `/readyz`. */
export interface Readiness {
  ready: boolean;
  store: { ok: boolean; error?: string };
  clusters: Array<{
    clusterId: string;
    ok: boolean;
    lastSuccessAt: number | null;
    consecutiveErrors: number;
    reason?: string;
  }>;
  /** The sync leader lease (also in `leases`). */
  lease: LeaseHolding;
  /**
   * Who holds each process-wide lease — `sync-leader` (syncs the inventory) and `class-scheduler`
   * (starts and stops class VMs and sends the idle, quota and ready DMs) — and whether it is this process.
   */
  leases: LeaseHolding[];
}

/** A lease and its current holder (`null` when nobody holds it or it expired). */
export interface LeaseHolding {
  name: string;
  holder: string | null;
  heldByThisProcess: boolean;
  /** When the holder's lease runs out unless renewed. */
  expiresAt: number | null;
}

/**
 * Readiness of a `lab serve` process: the store answers (within `storeTimeoutMs`), and — when sync
 * is enabled — every cluster answered a sync within `clusterMaxAgeMs` (whichever process of the
 * school synced it: the state is in the shared store). The sync lease's holder is reported, not
 * required: a process that stands by is as ready to answer commands as the leader.
 */
export async function checkReadiness(sources: ReadinessSources): Promise<Readiness> {
  const now = (sources.now ?? Date.now)();
  const mine = holderIdsOf(sources);
  const leases: LeaseHolding[] = PROCESS_LEASES.map((name) => ({
    name,
    holder: null,
    heldByThisProcess: false,
    expiresAt: null,
  }));
  const lease = leases[0]!;
  let states;
  try {
    const timeoutMs = sources.storeTimeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const [list, held] = await Promise.race([
        Promise.all([
          sources.store.sync.listStates(),
          Promise.all(PROCESS_LEASES.map((name) => sources.store.sync.getLease(name))),
        ]),
        deadline,
      ]);
      states = list;
      held.forEach((record, i) => {
        if (!record || record.expiresAt <= now) return;
        const holding = leases[i]!;
        holding.holder = record.holder;
        holding.heldByThisProcess = record.holder === mine[holding.name];
        holding.expiresAt = record.expiresAt;
      });
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    const clusters = sources.clusterIds().map((clusterId) => ({
      clusterId,
      ok: false,
      lastSuccessAt: null,
      consecutiveErrors: 0,
      reason: 'store unreachable',
    }));
    return { ready: false, store: { ok: false, error: (error as Error).message }, clusters, lease, leases };
  }
  const byId = new Map(states.map((s) => [s.clusterId, s]));
  const clusters = sources.clusterIds().map((clusterId) => {
    const state = byId.get(clusterId);
    const lastSuccessAt = state?.lastSuccessAt ?? null;
    const consecutiveErrors = state?.consecutiveErrors ?? 0;
    if (!sources.syncEnabled)
      return { clusterId, ok: true, lastSuccessAt, consecutiveErrors, reason: 'sync disabled: not checked' };
    const readiness = clusterReadiness(
      { lastSuccessAt, consecutiveErrors, lastError: state?.lastError ?? null },
      now,
      sources.clusterMaxAgeMs,
    );
    if (!readiness.ok) return { clusterId, ok: false, lastSuccessAt, consecutiveErrors, reason: readiness.reason };
    return { clusterId, ok: true, lastSuccessAt, consecutiveErrors };
  });
  return { ready: clusters.every((c) => c.ok), store: { ok: true }, clusters, lease, leases };
}

/**
 * A request handler for the operations endpoints, to put in front of a bot's listener on the same
 * server: `GET /healthz` (200 while the process runs), `GET /readyz` (200 or 503 with a
 * {@link Readiness} JSON body) and `GET /metrics` (Prometheus text). Returns false for any other
 * path, which the caller hands to the bot.
 */
export function createOpsEndpoints(options: {
  metrics: LabMetrics;
  readiness: ReadinessSources;
  onError?: (path: string, error: unknown) => void;
}): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!(OPS_PATHS as readonly string[]).includes(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return true;
    }
    const send = (status: number, type: string, body: string) => {
      if (!res.headersSent)
        res
          .writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (error: unknown) => {
      options.onError?.(path, error);
      send(500, 'text/plain; charset=utf-8', 'internal error\n');
    };
    if (path === '/healthz') send(200, 'application/json', '{"status":"ok"}\n');
    else if (path === '/readyz')
      checkReadiness(options.readiness).then(
        (r) => send(r.ready ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`),
        fail,
      );
    else options.metrics.render().then((text) => send(200, options.metrics.contentType, text), fail);
    return true;
  };
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, UnknownClusterError } from '../errors/pve-errors.js';
import type { Clock } from '../ports/clock.js';
import type { ClusterDescription } from '../ports/cluster-apis.js';
import type { LabObserver } from '../ports/lab-observer.js';
import type { Logger } from '../ports/logger.js';
import type { Dispatcher } from 'undici';
import { MAX_TIMER_MS, TIMER_MS_MESSAGE } from '../util/timer-limit.js';
import { MAX_RESPONSE_BYTES } from './client-options.js';
import { pveBaseUrlProblem } from './pve-base-url.js';
import { ProxmoxClient } from './proxmox-client.js';
import { checkOptions } from '../util/constructor-options.js';

/** One cluster as written in `lab.config.json` (`clusters[]`). */
export const clusterConfigSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'use lower-case letters, digits and dashes, starting with a letter'),
    url: z.string().superRefine((url, ctx) => {
      const problem = pveBaseUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: undefined });
    }),
    tokenId: z
      .string()
      .regex(/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$/, 'must look like USER@REALM!TOKENID (e.g. lab@pve!bot)')
      .optional(),
    tokenSecret: z.string().min(1).optional(),
    tokenSecretFile: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    fingerprint: z.string().optional(),
    ca: z.string().optional(),
    caFile: z.string().optional(),
    insecure: z.boolean().optional(),
    timeoutMs: z.number().int().positive().max(MAX_TIMER_MS, TIMER_MS_MESSAGE).optional(),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .max(MAX_RESPONSE_BYTES, `must be at most ${MAX_RESPONSE_BYTES} (256 MiB)`)
      .optional(),
    maxConcurrentRequests: z.number().int().min(1).max(64).optional(),
  })
  .strict();

/** A cluster entry of the configuration. */
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

/** Shared dependencies for every client the registry builds. */
export interface ClustersOptions {
  logger?: Logger;
  /** Given to every client: told of every PVE request, for metrics. */
  observer?: LabObserver;
  clock?: Clock;
  /** Environment to read secret overrides from. @defaultValue `process.env` */
  env?: Record<string, string | undefined>;
  /** For tests: one dispatcher for every cluster. */
  dispatcher?: Dispatcher;
}

/**
 * The clusters a lab talks to, built from configuration; each gets its own `ProxmoxClient`
 * (own pool and concurrency cap). Secrets may come from `LAB_CLUSTER_<ID>_TOKEN_SECRET` /
 * `LAB_CLUSTER_<ID>_PASSWORD` or from `tokenSecretFile`.
 */
export class Clusters {
  readonly #clients = new Map<string, ProxmoxClient>();
  readonly #descriptions = new Map<string, ClusterDescription>();

  constructor(configs: readonly unknown[], options: ClustersOptions = {}) {
    if (!Array.isArray(configs))
      throw new ConfigError(
        `new Clusters: give the cluster configurations as an array (config key 'clusters'), e.g. [{ id: 'lab', url: 'https://pve1.example.org:8006', tokenId, tokenSecret }]; got ${configs === null ? 'null' : typeof configs}`,
        { key: 'clusters' },
      );
    checkOptions('new Clusters', options, { env: 'object?' });
    const env = options.env ?? process.env;
    configs.forEach((raw, index) => {
      const parsed = clusterConfigSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const key = ['clusters', index, ...issue.path].join('.');
        throw new ConfigError(`config key '${key}': ${issue.message}`, { key });
      }
      const config = parsed.data;
      if (this.#clients.has(config.id))
        throw new ConfigError(`config key 'clusters.${index}.id': cluster id '${config.id}' is used twice`, {
          key: `clusters.${index}.id`,
        });
      this.#clients.set(config.id, new ProxmoxClient(clientOptionsFor(config, index, env, options)));
      this.#descriptions.set(config.id, describe(config, index));
    });
  }

  /** The client of cluster `id`, or `UnknownClusterError` listing the configured ids. */
  get(id: string): ProxmoxClient {
    const client = this.#clients.get(id);
    if (!client) throw new UnknownClusterError(id, this.ids());
    return client;
  }

  /** The configured cluster ids, in configuration order. */
  ids(): string[] {
    return [...this.#clients.keys()];
  }

  /** How cluster `id` is reached, without secrets (for `LabDoctor`); undefined for an unknown id. */
  describe(id: string): ClusterDescription | undefined {
    return this.#descriptions.get(id);
  }

  /** Every client, in configuration order. */
  list(): ProxmoxClient[] {
    return [...this.#clients.values()];
  }

  /** Closes every client's pool. */
  async close(): Promise<void> {
    await Promise.all(this.list().map((c) => c.close()));
  }
}

function describe(config: ClusterConfig, index: number): ClusterDescription {
  const tls: ClusterDescription['tls'] = config.insecure
    ? { mode: 'insecure' }
    : config.fingerprint
      ? { mode: 'pinned', fingerprint: config.fingerprint }
      : config.ca || config.caFile
        ? { mode: 'ca', source: config.caFile ?? `clusters.${index}.ca` }
        : { mode: 'system' };
  return {
    index,
    url: config.url,
    ...(config.tokenId ? { tokenId: config.tokenId } : {}),
    ...(config.username ? { username: config.username } : {}),
    tls,
  };
}

function envKey(id: string, what: string): string {
  return `LAB_CLUSTER_${id.toUpperCase().replace(/-/g, '_')}_${what}`;
}

function clientOptionsFor(
  config: ClusterConfig,
  index: number,
  env: Record<string, string | undefined>,
  options: ClustersOptions,
) {
  const at = (key: string) => `clusters.${index}.${key}`;
  const readFile = (key: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `config key '${at(key)}': cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { key: at(key) },
      );
    }
  };
  const tokenSecret =
    env[envKey(config.id, 'TOKEN_SECRET')] ??
    config.tokenSecret ??
    (config.tokenSecretFile ? readFile('tokenSecretFile', config.tokenSecretFile) : undefined);
  const password = env[envKey(config.id, 'PASSWORD')] ?? config.password;
  let auth: ConstructorParameters<typeof ProxmoxClient>[0]['auth'];
  if (config.tokenId) {
    if (!tokenSecret)
      throw new ConfigError(
        `config key '${at('tokenSecret')}': cluster '${config.id}' has a tokenId but no secret; set tokenSecret, tokenSecretFile or ${envKey(config.id, 'TOKEN_SECRET')}`,
        { key: at('tokenSecret') },
      );
    auth = { type: 'token', tokenId: config.tokenId, secret: tokenSecret };
  } else if (config.username) {
    if (!password)
      throw new ConfigError(
        `config key '${at('password')}': cluster '${config.id}' has a username but no password; set password or ${envKey(config.id, 'PASSWORD')}`,
        { key: at('password') },
      );
    auth = { type: 'ticket', username: config.username, password };
  } else {
    throw new ConfigError(
      `config key '${at('tokenId')}': cluster '${config.id}' needs credentials: tokenId + tokenSecret (recommended) or username + password`,
      { key: at('tokenId') },
    );
  }
  const ca = config.ca ?? (config.caFile ? readFile('caFile', config.caFile) : undefined);
  return {
    clusterId: config.id,
    baseUrl: config.url,
    auth,
    tls: {
      ...(ca ? { ca } : {}),
      ...(config.fingerprint ? { fingerprint: config.fingerprint } : {}),
      ...(config.insecure ? { insecure: true } : {}),
    },
    ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    ...(config.maxResponseBytes ? { maxResponseBytes: config.maxResponseBytes } : {}),
    ...(config.maxConcurrentRequests ? { maxConcurrentRequests: config.maxConcurrentRequests } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  };
}

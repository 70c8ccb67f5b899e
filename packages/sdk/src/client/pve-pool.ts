import type { Dispatcher } from 'undici';
import type { Logger } from '../ports/logger.js';
import { createTlsConnector, type PveTlsOptions } from './tls-connector.js';

/**
 * The keep-alive connection pool of one cluster, with the cluster's TLS trust. undici is imported
 * here, when the first request needs a pool, so a process that never calls PVE (`lab vms` reading
 * the store) never loads it.
 */
export async function createPvePool(
  baseUrl: string,
  options: { connections: number; tls: PveTlsOptions; clusterId: string; logger: Logger },
): Promise<Dispatcher> {
  // undici is CommonJS: its `default` is its exports under Node's ESM loader, in the CommonJS build
  // and in a bundle that inlines it (the `lab` CLI), where the named exports are not there.
  const { Pool, buildConnector } = (await import('undici')).default;
  return new Pool(baseUrl, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: createTlsConnector(buildConnector, options.tls, {
      clusterId: options.clusterId,
      baseUrl,
      logger: options.logger,
    }),
  });
}

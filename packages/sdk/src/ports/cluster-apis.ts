import type { PveApi } from './pve-api.js';

/** How a cluster is reached, without secrets: what diagnostics (`LabDoctor`) report and advise on. */
export interface ClusterDescription {
  /** Its position in the configuration's `clusters` list, for config keys (`clusters.0.fingerprint`). */
  index: number;
  url: string;
  /** `USER@REALM!TOKENID` when it authenticates with an API token. */
  tokenId?: string;
  /** The user when it logs in with a password. */
  username?: string;
  /** How the server's certificate is trusted. */
  tls:
    | { mode: 'insecure' }
    | { mode: 'pinned'; fingerprint: string }
    | { mode: 'ca'; source: string }
    | { mode: 'system' };
}

/** The clusters the domain can reach, by id (`Clusters` implements it). */
export interface ClusterApis {
  /** The API of cluster `id`; throws `UnknownClusterError` for an unknown one. */
  get(id: string): PveApi;
  ids(): string[];
  /** How cluster `id` is reached (no secrets), when the implementation knows it. */
  describe?(id: string): ClusterDescription | undefined;
}

import type { PveApi } from './pve-api.js';

/** The clusters the domain can reach, by id (`Clusters` implements it). */
export interface ClusterApis {
  /** The API of cluster `id`; throws `UnknownClusterError` for an unknown one. */
  get(id: string): PveApi;
  ids(): string[];
}

import type { ZodType } from 'zod';
import type { PveApi, PveParams, PveRequestOptions } from '../ports/pve-api.js';
import type { PveEndpoints } from './generated/pve-api-types.js';

/** An endpoint the resource layer uses, as `METHOD /schema/path`. */
export type PveEndpoint = keyof PveEndpoints;

/** How one call is made: its answer's schema and whether repeating it is harmless. */
export interface EndpointCall<T> extends Omit<PveRequestOptions<T>, 'schema' | 'idempotent'> {
  schema: ZodType<T>;
  idempotent: boolean;
}

/** The concrete path of `endpoint`, every path parameter URL-escaped. */
export function endpointPath<E extends PveEndpoint>(endpoint: E, path: PveEndpoints[E]['path']): string {
  const template = endpoint.slice(endpoint.indexOf(' ') + 1);
  const values = path as Readonly<Record<string, string | number>>;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(values[name])));
}

/** Calls `endpoint` with parameters checked against the PVE schema at compile time. */
export function callEndpoint<E extends PveEndpoint, T>(
  api: PveApi,
  endpoint: E,
  path: PveEndpoints[E]['path'],
  params: PveEndpoints[E]['params'] | undefined,
  call: EndpointCall<T>,
): Promise<T> {
  const method = endpoint.slice(0, endpoint.indexOf(' ')) as 'GET' | 'POST' | 'PUT' | 'DELETE';
  const url = endpointPath(endpoint, path);
  const values = params as PveParams | undefined;
  switch (method) {
    case 'GET':
      return api.get(url, values, call);
    case 'POST':
      return api.post(url, values, call);
    case 'PUT':
      return api.put(url, values, call);
    case 'DELETE':
      return api.delete(url, values, call);
  }
}

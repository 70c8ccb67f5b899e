import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One parameter or return-value property as the PVE schema describes it. */
export interface SchemaProperty {
  type?: string;
  optional?: number | boolean;
  format?: string | Record<string, SchemaProperty>;
  enum?: string[];
  minimum?: number | string;
  maximum?: number | string;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  default?: unknown;
  description?: string;
  items?: SchemaProperty;
  properties?: Record<string, SchemaProperty>;
  additionalProperties?: number | boolean | SchemaProperty;
}

/** One method (GET/POST/PUT/DELETE) of one schema path. */
export interface SchemaMethod {
  method: string;
  name?: string;
  parameters?: { additionalProperties?: number; properties?: Record<string, SchemaProperty> };
  returns?: SchemaProperty;
  protected?: number;
  proxyto?: string;
  /** Who may call it: `{ user: 'all' }`, or a `check` expression (`['perm', '/vms/{vmid}', ['VM.Audit']]`). */
  permissions?: { user?: string; check?: unknown[]; description?: string };
}

interface SchemaNode {
  path: string;
  info?: Record<string, SchemaMethod>;
  children?: SchemaNode[];
}

/** A schema path template (`/nodes/{node}/qemu/{vmid}`) with its methods. */
export interface SchemaEndpoint {
  template: string;
  methods: Record<string, SchemaMethod>;
  paramNames: string[];
  pattern: RegExp;
  literalSegments: number;
}

/** The result of matching a request path. */
export interface SchemaMatch {
  endpoint: SchemaEndpoint;
  pathParams: Record<string, string>;
}

function locateSchemaFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.PVE_API_SCHEMA,
    resolve(here, '../assets/api-schema.json'),
    resolve(here, '../../assets/api-schema.json'),
    resolve(here, '../../../../shared/pve/api-schema.json'),
    resolve(here, '../../../../../shared/pve/api-schema.json'),
  ].filter((p): p is string => typeof p === 'string');
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(`pve-sim: api-schema.json not found (looked in ${candidates.join(', ')}); set PVE_API_SCHEMA`);
  return found;
}

/** The PVE API schema, indexed for path matching. Load once with `loadSchemaIndex()`. */
export class SchemaIndex {
  readonly endpoints: SchemaEndpoint[] = [];

  constructor(tree: SchemaNode[]) {
    const walk = (nodes: SchemaNode[]): void => {
      for (const node of nodes) {
        if (node.info) this.endpoints.push(toEndpoint(node.path, node.info));
        if (node.children) walk(node.children);
      }
    };
    walk(tree);
    // Literal segments win over placeholders: '/nodes/{node}/qemu' before '/nodes/{node}/{x}'.
    this.endpoints.sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** The endpoint a concrete path (`/nodes/pve1/qemu/100/config`) belongs to, if any. */
  match(path: string): SchemaMatch | undefined {
    for (const endpoint of this.endpoints) {
      const m = endpoint.pattern.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      endpoint.paramNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1]!);
      });
      return { endpoint, pathParams };
    }
    return undefined;
  }

  /** The endpoint with exactly this template, if any. */
  byTemplate(template: string): SchemaEndpoint | undefined {
    return this.endpoints.find((e) => e.template === template);
  }
}

function toEndpoint(template: string, methods: Record<string, SchemaMethod>): SchemaEndpoint {
  const paramNames: string[] = [];
  const segments = template.split('/').filter(Boolean);
  const source = segments
    .map((segment) => {
      const m = /^\{(.+)\}$/.exec(segment);
      if (m) {
        paramNames.push(m[1]!);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return {
    template,
    methods,
    paramNames,
    pattern: new RegExp(`^/${source}/?$`),
    literalSegments: segments.filter((s) => !s.startsWith('{')).length * 1000 + segments.length,
  };
}

let cached: SchemaIndex | undefined;

/** Loads (once per process) and indexes the PVE API schema shipped with the package. */
export function loadSchemaIndex(): SchemaIndex {
  cached ??= new SchemaIndex(JSON.parse(readFileSync(locateSchemaFile(), 'utf8')) as SchemaNode[]);
  return cached;
}

import { createHash } from 'node:crypto';
import type { SchemaIndex, SchemaProperty } from '../schema/schema-index.js';

const cache = new Map<string, Record<string, SchemaProperty>>();

function returnProperties(schema: SchemaIndex, template: string): Record<string, SchemaProperty> {
  let props = cache.get(template);
  if (!props) {
    props = schema.byTemplate(template)?.methods.GET?.returns?.properties ?? {};
    cache.set(template, props);
  }
  return props;
}

/**
 * A guest config as PVE's `GET …/config` returns it: values typed as the schema says (integers
 * and 0/1 booleans as numbers, the rest as strings) plus a `digest` of the config.
 */
export function typedConfig(
  schema: SchemaIndex,
  template: string,
  config: Record<string, string>,
): Record<string, unknown> {
  const props = returnProperties(schema, template);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const prop = props[key] ?? props[key.replace(/\d+$/, '[n]')];
    const type = prop?.type;
    out[key] = type === 'integer' || type === 'boolean' || type === 'number' ? Number(value) : value;
  }
  out.digest = createHash('sha1').update(JSON.stringify(config)).digest('hex');
  return out;
}

import { PVE_TAG_RE, splitList } from '../model/guest-tags.js';
import { isCidr, isIp } from '../model/sdn.js';
import type { SchemaMethod, SchemaProperty } from './schema-index.js';

/** A raw request parameter: one string, or several for a repeated key. */
export type RawParam = string | string[];

/** The outcome of checking a request's parameters against the schema. */
export interface ParameterCheck {
  /** PVE's per-parameter messages; empty when the request is valid. */
  errors: Record<string, string>;
  /** Values converted to their schema types (integers, numbers, 0/1 booleans). */
  values: Record<string, unknown>;
}

interface IndexedProperty {
  property: SchemaProperty;
  /** For `net[n]`-style names: the index range; undefined for plain names. */
  range?: { prefix: string; min: number; max: number };
}

function findProperty(properties: Record<string, SchemaProperty>, name: string): IndexedProperty | undefined {
  const direct = properties[name];
  if (direct) return { property: direct };
  const m = /^([a-z_-]+?)(\d+)$/i.exec(name);
  if (!m) return undefined;
  const templ = properties[`${m[1]}[n]`];
  if (!templ) return undefined;
  const r = /n is (\d+) to (\d+)/.exec(templ.description ?? '');
  const range = { prefix: m[1]!, min: r ? Number(r[1]) : 0, max: r ? Number(r[2]) : 255 };
  const index = Number(m[2]);
  if (index < range.min || index > range.max) return undefined;
  return { property: templ, range };
}

const BOOLEAN_TRUE = /^(1|true|yes|on)$/i;
const BOOLEAN_FALSE = /^(0|false|no|off)$/i;

const FORMATS: Record<string, { test: (v: string) => boolean; message: (v: string) => string }> = {
  'pve-node': {
    test: (v) => /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v),
    message: (v) => `invalid format - value '${v}' does not look like a valid node name`,
  },
  'pve-storage-id': {
    test: (v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v),
    message: (v) => `invalid format - storage ID '${v}' contains illegal characters`,
  },
  'dns-name': {
    test: (v) => /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v),
    message: (v) => `invalid format - value '${v}' does not look like a valid DNS name`,
  },
  // pve-common `src/PVE/JSONSchema.pm` `pve_verify_tag`.
  'pve-tag': {
    test: (v) => PVE_TAG_RE.test(v),
    message: () => 'invalid format - invalid characters in tag',
  },
  // pve-network `Zones/Plugin.pm` `parse_sdn_zone_id` and `VnetPlugin.pm` `parse_sdn_vnet_id` (before
  // ecf98c5 moved them into schema patterns): letters and digits, a letter first, 2 to 8 characters.
  'pve-sdn-zone-id': sdnIdFormat('zone'),
  'pve-sdn-vnet-id': sdnIdFormat('vnet'),
  // `SubnetPlugin.pm` `parse_sdn_subnet_id`: a CIDR, or `<zone>-<ip>-<mask>`.
  'pve-sdn-subnet-id': {
    test: (v) => {
      if (v.includes('/')) return isCidr(v);
      const [, ip, mask] = v.split('-');
      return isCidr(`${ip}/${mask}`);
    },
    message: () => 'invalid format - value does not look like a valid CIDR network',
  },
  // pve-common `pve_verify_ip`.
  ip: {
    test: (v) => isIp(v),
    message: () => 'invalid format - value does not look like a valid IP address',
  },
  'pve-vmid': {
    test: (v) => /^\d+$/.test(v),
    message: (v) => `invalid format - value '${v}' does not look like a valid VM ID`,
  },
};

function sdnIdFormat(what: 'zone' | 'vnet'): { test: (v: string) => boolean; message: (v: string) => string } {
  return {
    test: (v) => /^[a-z][a-z0-9]*[a-z0-9]$/i.test(v) && v.length <= 8,
    message: (v) =>
      /^[a-z][a-z0-9]*[a-z0-9]$/i.test(v)
        ? `invalid format - ${what} ID '${v}' can't be more length than 8 characters`
        : `invalid format - ${what} ID '${v}' contains illegal characters`,
  };
}

/** Checks one value against its property; returns PVE's message, or the converted value. */
function checkValue(property: SchemaProperty, raw: string): { error: string } | { value: unknown } {
  const type = property.type ?? 'string';
  let value: unknown = raw;
  if (type === 'integer') {
    if (!/^[+-]?\d+$/.test(raw)) return { error: `type check ('integer') failed - got '${raw}'` };
    value = Number(raw);
  } else if (type === 'number') {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw))
      return { error: `type check ('number') failed - got '${raw}'` };
    value = Number(raw);
  } else if (type === 'boolean') {
    if (BOOLEAN_TRUE.test(raw)) value = 1;
    else if (BOOLEAN_FALSE.test(raw)) value = 0;
    else return { error: `type check ('boolean') failed - got '${raw}'` };
  }
  if (typeof value === 'number') {
    if (property.minimum !== undefined && value < Number(property.minimum))
      return { error: `value must have a minimum value of ${property.minimum}` };
    if (property.maximum !== undefined && value > Number(property.maximum))
      return { error: `value must have a maximum value of ${property.maximum}` };
  }
  if (type === 'string') {
    if (property.maxLength !== undefined && raw.length > property.maxLength)
      return { error: `value may only be ${property.maxLength} characters long` };
    if (property.minLength !== undefined && raw.length < property.minLength)
      return { error: `value must be at least ${property.minLength} characters long` };
    // Perl's `(?^:…)` (a group with default flags) is JavaScript's `(?:…)`; `(?^i:…)` (a `qr//i`,
    // such as a VNet's `alias`) makes the whole pattern case-insensitive here.
    const flags = property.pattern?.includes('(?^i:') ? 'i' : '';
    const source = property.pattern?.replaceAll('(?^:', '(?:').replaceAll('(?^i:', '(?:');
    if (source !== undefined && !new RegExp(`^(?:${source})$`, flags).test(raw))
      return { error: 'value does not match the regex pattern' };
  }
  if (property.enum && !property.enum.includes(raw)) {
    return { error: `value '${raw}' does not have a value in the enumeration '${property.enum.join(', ')}'` };
  }
  if (typeof property.format === 'string') {
    // A `<format>-list` is checked item by item, split like pve-common `check_format` does (`split_list`).
    const list = /^(.*)-list$/.exec(property.format)?.[1];
    const format = FORMATS[list ?? property.format];
    for (const item of list && format ? splitList(raw) : [raw])
      if (format && !format.test(item)) return { error: format.message(item) };
  }
  return { value };
}

/**
 * Checks request parameters the way PVE's JSONSchema does: unknown names, missing required
 * ones, types, ranges, lengths, enums, patterns and a few formats, with PVE's own messages.
 */
export function validateParameters(method: SchemaMethod, params: Record<string, RawParam>): ParameterCheck {
  const errors: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const properties = method.parameters?.properties ?? {};
  const allowExtra = Boolean(method.parameters?.additionalProperties);
  for (const [name, raw] of Object.entries(params)) {
    const found = findProperty(properties, name);
    if (!found) {
      if (allowExtra) values[name] = raw;
      else errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
      continue;
    }
    const { property } = found;
    if (property.type === 'array') {
      const list = Array.isArray(raw) ? raw : [raw];
      const out: unknown[] = [];
      for (const item of list) {
        const r = checkValue(property.items ?? { type: 'string' }, item);
        if ('error' in r) {
          errors[name] = r.error;
          break;
        }
        out.push(r.value);
      }
      values[name] = out;
      continue;
    }
    if (Array.isArray(raw)) {
      errors[name] = `type check ('${property.type ?? 'string'}') failed - got an array`;
      continue;
    }
    const r = checkValue(property, raw);
    if ('error' in r) errors[name] = r.error;
    else values[name] = r.value;
  }
  for (const [name, property] of Object.entries(properties)) {
    if (name.endsWith('[n]') || property.optional) continue;
    if (!(name in params)) errors[name] = 'property is missing and it is not optional';
  }
  return { errors, values };
}

/**
 * Differences between a value and a schema `returns` description: wrong JSON types and missing
 * non-optional properties, as `path: problem` strings. Used to keep the simulator's answers
 * shaped like PVE's.
 */
export function checkReturnShape(schema: SchemaProperty | undefined, value: unknown, path = 'data'): string[] {
  if (!schema || schema.type === undefined) return [];
  const issues: string[] = [];
  const type = schema.type;
  const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const actual = typeOf(value);
  if (value === undefined || value === null) {
    if (type !== 'null' && !schema.optional) issues.push(`${path}: missing (expected ${type})`);
    return issues;
  }
  switch (type) {
    case 'integer':
      if (!(typeof value === 'number' && Number.isInteger(value)))
        issues.push(`${path}: expected integer, got ${actual} ${JSON.stringify(value)}`);
      break;
    case 'number':
      if (typeof value !== 'number') issues.push(`${path}: expected number, got ${actual}`);
      break;
    case 'boolean':
      if (value !== 0 && value !== 1 && typeof value !== 'boolean')
        issues.push(`${path}: expected boolean (0/1), got ${JSON.stringify(value)}`);
      break;
    case 'string':
      if (typeof value !== 'string') issues.push(`${path}: expected string, got ${actual} ${JSON.stringify(value)}`);
      else if (schema.enum && !schema.enum.includes(value))
        issues.push(`${path}: '${value}' is not one of ${schema.enum.join(', ')}`);
      break;
    case 'array':
      if (!Array.isArray(value)) issues.push(`${path}: expected array, got ${actual}`);
      else value.forEach((item, i) => issues.push(...checkReturnShape(schema.items, item, `${path}[${i}]`)));
      break;
    case 'object':
      if (actual !== 'object') {
        issues.push(`${path}: expected object, got ${actual}`);
        break;
      }
      for (const [key, prop] of Object.entries(schema.properties ?? {})) {
        if (key.endsWith('[n]')) continue;
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) {
          if (!prop.optional) issues.push(`${path}.${key}: missing`);
          continue;
        }
        issues.push(...checkReturnShape(prop, v, `${path}.${key}`));
      }
      break;
    default:
      break;
  }
  return issues;
}

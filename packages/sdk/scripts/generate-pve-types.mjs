#!/usr/bin/env node
// Generates packages/sdk/src/pve/generated/pve-api-types.ts from the PVE API schema the
// simulator bundles, for the endpoints the resource layer uses (ENDPOINTS below).
//   node packages/sdk/scripts/generate-pve-types.mjs          writes the file
//   node packages/sdk/scripts/generate-pve-types.mjs --check  exits 1 when the file is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_FILE = join(here, '../../pve-sim/assets/api-schema.json');
export const OUTPUT_FILE = join(here, '../src/pve/generated/pve-api-types.ts');

/** [method, schema path, type name]: every PVE endpoint the resource layer calls. */
export const ENDPOINTS = [
  ['GET', '/access/permissions', 'AccessPermissions'],
  ['POST', '/cluster/bulk-action/guest/shutdown', 'ClusterBulkShutdown'],
  ['POST', '/cluster/bulk-action/guest/start', 'ClusterBulkStart'],
  ['GET', '/cluster/nextid', 'ClusterNextId'],
  ['GET', '/cluster/resources', 'ClusterResources'],
  ['PUT', '/cluster/sdn', 'SdnApply'],
  ['GET', '/cluster/sdn/vnets', 'SdnVnetList'],
  ['POST', '/cluster/sdn/vnets', 'SdnVnetCreate'],
  ['DELETE', '/cluster/sdn/vnets/{vnet}', 'SdnVnetDelete'],
  ['GET', '/cluster/sdn/vnets/{vnet}/subnets', 'SdnSubnetList'],
  ['POST', '/cluster/sdn/vnets/{vnet}/subnets', 'SdnSubnetCreate'],
  ['DELETE', '/cluster/sdn/vnets/{vnet}/subnets/{subnet}', 'SdnSubnetDelete'],
  ['GET', '/cluster/sdn/zones', 'SdnZoneList'],
  ['POST', '/cluster/sdn/zones', 'SdnZoneCreate'],
  ['DELETE', '/cluster/sdn/zones/{zone}', 'SdnZoneDelete'],
  ['GET', '/nodes', 'NodeList'],
  ['GET', '/nodes/{node}/lxc', 'LxcList'],
  ['GET', '/nodes/{node}/lxc/{vmid}/config', 'LxcConfig'],
  ['GET', '/nodes/{node}/qemu', 'QemuList'],
  ['DELETE', '/nodes/{node}/qemu/{vmid}', 'QemuDelete'],
  ['GET', '/nodes/{node}/qemu/{vmid}/agent/get-users', 'QemuAgentGetUsers'],
  ['GET', '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', 'QemuAgentNetworkInterfaces'],
  ['POST', '/nodes/{node}/qemu/{vmid}/agent/set-user-password', 'QemuAgentSetUserPassword'],
  ['POST', '/nodes/{node}/qemu/{vmid}/clone', 'QemuClone'],
  ['PUT', '/nodes/{node}/qemu/{vmid}/cloudinit', 'QemuCloudInitUpdate'],
  ['GET', '/nodes/{node}/qemu/{vmid}/config', 'QemuConfig'],
  ['PUT', '/nodes/{node}/qemu/{vmid}/config', 'QemuConfigUpdate'],
  ['POST', '/nodes/{node}/qemu/{vmid}/migrate', 'QemuMigrate'],
  ['GET', '/nodes/{node}/qemu/{vmid}/snapshot', 'QemuSnapshotList'],
  ['POST', '/nodes/{node}/qemu/{vmid}/snapshot', 'QemuSnapshotCreate'],
  ['DELETE', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}', 'QemuSnapshotDelete'],
  ['POST', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback', 'QemuSnapshotRollback'],
  ['GET', '/nodes/{node}/qemu/{vmid}/status/current', 'QemuStatusCurrent'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/reboot', 'QemuReboot'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/shutdown', 'QemuShutdown'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/start', 'QemuStart'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/stop', 'QemuStop'],
  ['POST', '/nodes/{node}/qemu/{vmid}/template', 'QemuTemplate'],
  ['POST', '/nodes/{node}/qemu/{vmid}/vncproxy', 'QemuVncProxy'],
  ['GET', '/nodes/{node}/qemu/{vmid}/vncwebsocket', 'QemuVncWebSocket'],
  ['GET', '/nodes/{node}/sdn/zones', 'NodeSdnZoneStatus'],
  ['GET', '/nodes/{node}/sdn/zones/{zone}/content', 'NodeSdnZoneContent'],
  ['GET', '/nodes/{node}/storage', 'StorageList'],
  ['GET', '/nodes/{node}/tasks', 'NodeTasks'],
  ['GET', '/nodes/{node}/tasks/{upid}/log', 'TaskLog'],
  ['GET', '/nodes/{node}/tasks/{upid}/status', 'TaskStatus'],
  ['GET', '/version', 'Version'],
];

function indexSchema(roots) {
  const byPath = new Map();
  const walk = (node) => {
    byPath.set(node.path, node);
    for (const child of node.children ?? []) walk(child);
  };
  roots.forEach(walk);
  return byPath;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name) => (IDENT.test(name) ? name : JSON.stringify(name));

function doc(text, indent) {
  if (!text) return '';
  const line = String(text).replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();
  const short = line.length > 160 ? `${line.slice(0, 157)}...` : line;
  return `${indent}/** ${short} */\n`;
}

/** The TypeScript type of one schema node; `response` renders PVE booleans as 0/1 too, as PVE sends them. */
function typeOf(schema, indent, response) {
  if (!schema || typeof schema !== 'object') return 'unknown';
  if (Array.isArray(schema.enum) && schema.type === 'string')
    return schema.enum.map((v) => JSON.stringify(String(v))).join(' | ');
  // Some answers (vncproxy's) list properties without saying `type: object`.
  switch (schema.type ?? (schema.properties ? 'object' : undefined)) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return response ? 'PveBoolean' : 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = typeOf(schema.items, indent, response);
      return /^[A-Za-z]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return objectType(schema.properties, indent, response, response);
    default:
      return 'unknown';
  }
}

function objectType(properties, indent, response, open) {
  const names = Object.keys(properties ?? {}).sort();
  if (names.length === 0) return 'Record<string, unknown>';
  const inner = `${indent}  `;
  let out = '{\n';
  for (const name of names) {
    const p = properties[name];
    out += doc(p.description, inner);
    out += `${inner}${key(name)}${p.optional ? '?' : ''}: ${typeOf(p, inner, response)};\n`;
  }
  if (open) out += `${inner}[key: string]: unknown;\n`;
  return `${out}${indent}}`;
}

/** Renders the whole generated module as a string. */
export function generate(schemaText = readFileSync(SCHEMA_FILE, 'utf8')) {
  const byPath = indexSchema(JSON.parse(schemaText));
  let out = `// Generated by packages/sdk/scripts/generate-pve-types.mjs from packages/pve-sim/assets/api-schema.json.
// Do not edit: change ENDPOINTS in the script and run it again.

/** A PVE boolean as the API sends it (\`0\`/\`1\`), or as JSON. */
export type PveBoolean = boolean | 0 | 1;
`;
  const table = [];
  for (const [method, path, name] of ENDPOINTS) {
    const info = byPath.get(path)?.info?.[method];
    if (!info) throw new Error(`${method} ${path} is not in the PVE API schema`);
    const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const all = info.parameters?.properties ?? {};
    const query = Object.fromEntries(Object.entries(all).filter(([k]) => !pathParams.includes(k)));
    const pathProps = Object.fromEntries(pathParams.map((k) => [k, { ...all[k], optional: 0 }]));
    out += `\n/** Path parameters of \`${method} ${path}\`. */\n`;
    out += pathParams.length
      ? `export interface ${name}PathParams ${objectType(pathProps, '', false, false)}\n`
      : `export type ${name}PathParams = Record<string, never>;\n`;
    out += `\n/** Parameters of \`${method} ${path}\`${info.description ? `: ${String(info.description).replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim()}` : ''} */\n`;
    out += Object.keys(query).length
      ? `export interface ${name}Params ${objectType(query, '', false, false)}\n`
      : `export type ${name}Params = Record<string, never>;\n`;
    out += `\n/** What \`${method} ${path}\` answers (\`data\`). */\nexport type ${name}Response = ${typeOf(info.returns, '', true)};\n`;
    table.push(
      `  ${JSON.stringify(`${method} ${path}`)}: { path: ${name}PathParams; params: ${name}Params; response: ${name}Response };`,
    );
  }
  out += `\n/** Every endpoint the resource layer uses, by \`METHOD /schema/path\`. */\nexport interface PveEndpoints {\n${table.join('\n')}\n}\n`;
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generate();
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUTPUT_FILE, 'utf8');
    if (current !== text) {
      console.error(`${OUTPUT_FILE} is out of date: run node packages/sdk/scripts/generate-pve-types.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(OUTPUT_FILE, text);
    console.log(`wrote ${OUTPUT_FILE}`);
  }
}

import { createHash, randomUUID as uuid } from 'node:crypto';
import { die, PveSimError } from '../sim-error.js';
import { paramText } from '../param-text.js';

/** The SDN configuration files the simulator models (`/etc/pve/sdn/{zones,vnets,subnets}.cfg`). */
export type SdnSection = 'zones' | 'vnets' | 'subnets';

/** One section of a config file: its properties as PVE stores them (`type` included). */
export type SdnObject = Record<string, unknown>;

/** The three section config files, id → object. */
export type SdnFiles = Record<SdnSection, Map<string, SdnObject>>;

/** Zone types the simulator models; the others of PVE's enum are refused as not simulated. */
export const SIMULATED_ZONE_TYPES = ['simple', 'vlan', 'vxlan'] as const;

/**
 * Options each zone type accepts and which are required, after pve-network
 * `src/PVE/Network/SDN/Zones/{Simple,Vlan,Vxlan}Plugin.pm` `options` (`dhcp` only on simple zones,
 * `bridge` required on vlan ones; vxlan needs `peers` or `fabric`, checked by its `on_update_hook`).
 */
export const ZONE_OPTIONS: Record<string, Record<string, { optional: boolean }>> = {
  simple: Object.fromEntries(
    ['nodes', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam', 'dhcp'].map((k) => [k, { optional: true }]),
  ),
  vlan: {
    ...Object.fromEntries(
      ['nodes', 'bridge-disable-mac-learning', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam'].map((k) => [
        k,
        { optional: true },
      ]),
    ),
    bridge: { optional: false },
  },
  vxlan: Object.fromEntries(
    ['nodes', 'peers', 'vxlan-port', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam', 'fabric'].map((k) => [
      k,
      { optional: true },
    ]),
  ),
};

/** VnetPlugin `options`: `zone` required. */
export const VNET_OPTIONS: Record<string, { optional: boolean }> = {
  zone: { optional: false },
  tag: { optional: true },
  alias: { optional: true },
  vlanaware: { optional: true },
  'isolate-ports': { optional: true },
};

/** SubnetPlugin `options`: `vnet` required. */
export const SUBNET_OPTIONS: Record<string, { optional: boolean }> = {
  vnet: { optional: false },
  gateway: { optional: true },
  snat: { optional: true },
  dnszoneprefix: { optional: true },
  'dhcp-range': { optional: true },
  'dhcp-dns-server': { optional: true },
};

/** The IPAMs a fresh PVE has (`/etc/pve/sdn/ipams.cfg` gets `pve` on first use of the GUI). */
export const KNOWN_IPAMS = ['pve'];

/**
 * A `die` inside `lock_sdn_config`: pve-network `src/PVE/Network/SDN.pm` `lock_sdn_domain` dies
 * with `"$errmsg: $err"`, which turns a parameter exception into a plain 500 whose text is the
 * exception's stringification (pve-common `src/PVE/Exception.pm` `stringify`: `400 Parameter
 * verification failed.` then one `key: message` line per error).
 */
export function lockedFailure(errmsg: string, error: unknown): PveSimError {
  let text: string;
  if (error instanceof PveSimError && error.errors) {
    text = `${error.status} ${error.message}\n${Object.keys(error.errors)
      .sort()
      .map((k) => `${k}: ${error.errors![k]}`)
      .join('\n')}`;
  } else text = error instanceof Error ? error.message : String(error);
  return die(`${errmsg}: ${text}`);
}

/** A SectionConfig `check_config` / `delete_from_config` failure: a plain `die` (500). */
function sectionDie(message: string): PveSimError {
  return die(message);
}

/** An IPv4 CIDR or address as a 32-bit number, or undefined. */
function ipv4ToNumber(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** Whether `ip` lies in IPv4 `cidr` (Net::Subnet `subnet_matcher`); IPv6 compared by prefix text. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [net, maskText] = cidr.split('/');
  const mask = Number(maskText);
  const a = ipv4ToNumber(ip);
  const n = ipv4ToNumber(net ?? '');
  if (a === undefined || n === undefined) {
    if (!ip.includes(':') || !net?.includes(':')) return false;
    return ipv6InCidr(ip, net, mask);
  }
  if (mask === 0) return true;
  const bits = mask >= 32 ? 0xffffffff : (~((1 << (32 - mask)) - 1) >>> 0) >>> 0;
  return (a & bits) >>> 0 === (n & bits) >>> 0;
}

function ipv6ToBigInt(ip: string): bigint | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    value = (value << 16n) + BigInt(Number.parseInt(g, 16));
  }
  return value;
}

function ipv6InCidr(ip: string, net: string, mask: number): boolean {
  const a = ipv6ToBigInt(ip);
  const n = ipv6ToBigInt(net);
  if (a === undefined || n === undefined) return false;
  const shift = BigInt(128 - mask);
  return a >> shift === n >> shift;
}

/** `pve_verify_cidrv4` / `pve_verify_cidrv6` (pve-common `src/PVE/JSONSchema.pm`): mask 8–32 / 8–128. */
export function isCidr(cidr: string): boolean {
  const m = /^(.+)\/(\d+)$/.exec(cidr);
  if (!m) return false;
  const mask = Number(m[2]);
  if (ipv4ToNumber(m[1]!) !== undefined) return mask > 7 && mask <= 32;
  if (ipv6ToBigInt(m[1]!) !== undefined) return mask > 7 && mask <= 128;
  return false;
}

/** An IPv4 or IPv6 address (pve-common `pve_verify_ip`). */
export function isIp(ip: string): boolean {
  return ipv4ToNumber(ip) !== undefined || (ip.includes(':') && ipv6ToBigInt(ip) !== undefined);
}

/** A `dhcp-range` item (`start-address=IP,end-address=IP`) parsed as pve-network `get_dhcp_ranges` does. */
export function parseDhcpRange(text: string): { 'start-address'?: string; 'end-address'?: string } {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * `pending_config` of pve-network `src/PVE/Network/SDN.pm`: the running objects with their keys at
 * the top, the configured values that differ under `pending`, a `state` of `new`, `changed` or
 * `deleted`; `type` (and a subnet's `vnet`) always from the config.
 */
export function pendingView(running: Map<string, SdnObject>, config: Map<string, SdnObject>): Map<string, SdnObject> {
  const out = new Map<string, SdnObject>();
  const enc = (v: unknown): string | undefined =>
    v === undefined ? undefined : Array.isArray(v) ? v.join(',') : paramText(v);
  for (const id of [...running.keys()].sort()) {
    const r = running.get(id)!;
    const c = config.get(id);
    const p: SdnObject = {};
    for (const key of Object.keys(r).sort()) {
      p[key] = r[key];
      if (!c || Object.keys(c).length === 0) p.state = 'deleted';
      else if (c[key] === undefined) {
        ((p.pending ??= {}) as SdnObject)[key] = 'deleted';
        p.state = 'changed';
      } else if (enc(r[key]) !== enc(c[key])) p.state = 'changed';
    }
    if (p.state && p.pending === undefined) p.pending = {};
    out.set(id, p);
  }
  for (const id of [...config.keys()].sort()) {
    const r = running.get(id);
    const c = config.get(id)!;
    const p: SdnObject = out.get(id) ?? {};
    for (const key of Object.keys(c).sort()) {
      const cv = enc(c[key]);
      const rv = enc(r?.[key]);
      if (key === 'type' || key === 'vnet') p[key] = cv;
      else if (rv === undefined || cv !== rv) ((p.pending ??= {}) as SdnObject)[key] = c[key];
      if (!r || Object.keys(r).length === 0) p.state = 'new';
      else if (rv === undefined && cv !== undefined) p.state = 'changed';
    }
    if (p.state && p.pending === undefined) p.pending = {};
    out.set(id, p);
  }
  return out;
}

/**
 * Line numbers Perl appends to a `die` without newline, by pve-network release: 1.2.4 (5e52a84,
 * PVE 9.1) and 0.11.2 (8f4f5d2, PVE 8.4, before the global lock of 6f11206).
 */
export function perlLines(nine: boolean): {
  zoneUsed: number;
  lockToken: number;
  pendingChanges: number;
  vnetLookup: number;
} {
  return nine
    ? { zoneUsed: 159, lockToken: 281, pendingChanges: 145, vnetLookup: 326 }
    : { zoneUsed: 138, lockToken: 0, pendingChanges: 0, vnetLookup: 224 };
}

/**
 * The zone options of a PVE 8 (pve-network 0.11) VXLAN zone: `peers` required, no `fabric` (added
 * with 472f28f "zone: vxlan: add fabrics integration", PVE 9.0).
 */
export const VXLAN_OPTIONS_PVE8: Record<string, { optional: boolean }> = {
  ...Object.fromEntries(
    ['nodes', 'vxlan-port', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam'].map((k) => [k, { optional: true }]),
  ),
  peers: { optional: false },
};

/** What a node's bridges are after an apply reached it. */
export interface SdnNodeState {
  /** VNets whose bridge exists on the node (the running config of the last reload that reached it). */
  vnets: Set<string>;
  /** The running config version that reload generated (`#version:N` in `/etc/network/interfaces.d/sdn`). */
  version?: number;
}

/**
 * PVE's SDN configuration: the pending files every API change writes, the running config an apply
 * (`PUT /cluster/sdn`) commits (`.running-config`, with its `version`), the global lock token, and
 * per node the VNet bridges the last network reload created there.
 */
export class SdnState {
  readonly config: SdnFiles = { zones: new Map(), vnets: new Map(), subnets: new Map() };
  running: (SdnFiles & { version: number }) | undefined;
  /** `/etc/pve/sdn/.lock` (PVE 8.4+/9: `POST /cluster/sdn/lock`). */
  lockToken: string | undefined;
  readonly nodes = new Map<string, SdnNodeState>();

  /** The running config's objects of `section` (empty before the first apply). */
  runningOf(section: SdnSection): Map<string, SdnObject> {
    return this.running?.[section] ?? new Map<string, SdnObject>();
  }

  /**
   * `lock_sdn_config`: runs `code` unless a global lock exists whose token the caller does not give
   * (`invalid lock token provided!`, a die without newline, so Perl appends its location); errors
   * inside become `<errmsg>: <error>` (`lock_sdn_domain`).
   */
  locked<T>(errmsg: string, token: string | undefined, code: () => T): T {
    try {
      if (this.lockToken !== undefined && token !== this.lockToken)
        throw new Error(
          `invalid lock token provided! at /usr/share/perl5/PVE/Network/SDN.pm line ${perlLines(true).lockToken}.`,
        );
      return code();
    } catch (error) {
      throw lockedFailure(errmsg, error);
    }
  }

  /** `commit_config`: the pending files become the running config, its version bumped. */
  commit(): number {
    const copy = (m: Map<string, SdnObject>): Map<string, SdnObject> =>
      new Map([...m].map(([k, v]) => [k, structuredClone(v)]));
    const version = (this.running?.version ?? 0) + 1;
    this.running = {
      version,
      zones: copy(this.config.zones),
      vnets: copy(this.config.vnets),
      subnets: copy(this.config.subnets),
    };
    return version;
  }

  /** `has_pending_changes`: any object of the pending view with a `pending` part. */
  hasPendingChanges(): boolean {
    for (const section of ['zones', 'vnets', 'subnets'] as const)
      for (const o of pendingView(this.runningOf(section), this.config[section]).values())
        if (o.pending !== undefined) return true;
    return false;
  }

  /** `create_global_lock`: a new token (a UUID). */
  createLock(): string {
    this.lockToken = uuid();
    return this.lockToken;
  }

  /** The subnets (pending config) of `vnet` (`PVE::Network::SDN::Vnets::get_subnets`). */
  subnetsOf(vnet: string): string[] {
    return [...this.config.subnets].filter(([, s]) => s.vnet === vnet).map(([id]) => id);
  }

  /** Whether a VNet's bridge exists on `node` (an apply's reload reached it). */
  vnetOnNode(node: string, vnet: string): boolean {
    return this.nodes.get(node)?.vnets.has(vnet) ?? false;
  }

  /**
   * What tests inspect (`GET /_sim/sdn`): the config files, the running config with its version
   * (null before the first apply), whether a global lock is held, and each node's VNet bridges.
   */
  snapshot(): Record<string, unknown> {
    const obj = (m: Map<string, SdnObject>): Record<string, SdnObject> => Object.fromEntries(structuredClone([...m]));
    const files = (f: SdnFiles): Record<string, unknown> => ({
      zones: obj(f.zones),
      vnets: obj(f.vnets),
      subnets: obj(f.subnets),
    });
    return {
      pending: files(this.config),
      running: this.running ? { version: this.running.version, ...files(this.running) } : null,
      pendingChanges: this.hasPendingChanges(),
      locked: this.lockToken !== undefined,
      nodes: Object.fromEntries([...this.nodes].map(([n, s]) => [n, [...s.vnets].sort()])),
    };
  }

  /**
   * pve-network `src/PVE/Network/SDN/Zones.pm` `status` on `node`: zones `available`, or `pending`
   * while the node's generated config is older than the running one; VNets `available`, `pending`
   * with the reason, or `error` when the node's reload could not create them (the zone is then
   * `error` too). Nothing before the first apply.
   */
  nodeStatus(node: string): {
    zones: Map<string, { status: string; 'zone-type': string }>;
    vnets: Map<string, { zone: string; status: string; statusmsg?: string }>;
  } {
    const zones = new Map<string, { status: string; 'zone-type': string }>();
    const vnets = new Map<string, { zone: string; status: string; statusmsg?: string }>();
    const running = this.running;
    if (!running) return { zones, vnets };
    const local = this.nodes.get(node)?.version;
    const err =
      local === undefined
        ? 'local sdn network configuration is not yet generated, please reload'
        : local < running.version
          ? 'local sdn network configuration is too old, please reload'
          : undefined;
    const onNode = (zone: SdnObject): boolean =>
      typeof zone.nodes !== 'string' || zone.nodes.split(/[,;\s]+/).includes(node);
    for (const id of [...running.zones.keys()].sort()) {
      const zone = running.zones.get(id)!;
      if (onNode(zone)) zones.set(id, { status: err ? 'pending' : 'available', 'zone-type': paramText(zone.type) });
    }
    for (const id of [...running.vnets.keys()].sort()) {
      const zoneId = paramText(running.vnets.get(id)!.zone);
      const zone = running.zones.get(zoneId);
      if (!zone || !onNode(zone)) continue;
      if (err) vnets.set(id, { zone: zoneId, status: 'pending', statusmsg: err });
      else if (!this.vnetOnNode(node, id)) {
        vnets.set(id, {
          zone: zoneId,
          status: 'error',
          statusmsg: "vnet is not generated. Please check the 'reload network' task log.",
        });
        zones.get(zoneId)!.status = 'error';
      } else vnets.set(id, { zone: zoneId, status: 'available' });
    }
    return { zones, vnets };
  }

  /** The zone of an applied-or-pending VNet, for `SDN.Use` checks (`/sdn/zones/<zone>/<vnet>`). */
  zoneOfVnet(vnet: string): string | undefined {
    return (this.config.vnets.get(vnet)?.zone ?? this.runningOf('vnets').get(vnet)?.zone) as string | undefined;
  }
}

/** SectionConfig `check_config` for one section type: unexpected and missing options. */
export function checkSectionConfig(
  options: Record<string, { optional: boolean }>,
  params: Record<string, unknown>,
  create: boolean,
): SdnObject {
  const out: SdnObject = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!options[key]) throw sectionDie(`unexpected property '${key}'`);
    out[key] = value;
  }
  if (create)
    for (const [key, o] of Object.entries(options))
      if (!o.optional && params[key] === undefined) throw sectionDie(`missing value for required option '${key}'`);
  return out;
}

/** SectionConfig `delete_from_config`. */
export function deleteFromConfig(
  object: SdnObject,
  options: Record<string, { optional: boolean }>,
  set: SdnObject,
  keys: string[],
): void {
  for (const key of keys) {
    const o = options[key];
    if (!o) throw sectionDie(`no such option '${key}'`);
    if (!o.optional) throw sectionDie(`unable to delete required option '${key}'`);
    if (set[key] !== undefined) throw sectionDie(`cannot set and delete property '${key}' at the same time!`);
    delete object[key];
  }
}

/** PVE's `split_list` on a `delete` parameter. */
export function splitDelete(value: unknown): string[] {
  return typeof value === 'string' ? value.split(/[,;\s]+/).filter(Boolean) : [];
}

/** A SectionConfig file's `digest` (SHA-1 of its text; here of its objects in order). */
export function fileDigest(file: Map<string, SdnObject>): string {
  return createHash('sha1')
    .update(JSON.stringify([...file].sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');
}

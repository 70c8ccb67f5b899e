import { createHash } from 'node:crypto';
import { SdnSettingsError } from './network-errors.js';

/**
 * The installation's SDN settings (`sdn` in `lab.config.json`): which ids are the lab's, where
 * class subnets come from, and which tags VNets in an admin's VLAN/VXLAN zone get.
 */
export interface SdnSettings {
  /** The start of every zone and VNet id the lab creates: a letter, then letters or digits, at most 3. @example 'lab' */
  prefix: string;
  /** The IPv4 range class subnets are cut from, as a CIDR. @defaultValue '10.200.0.0/16' */
  pool?: string;
  /** The prefix length of one class or student subnet. @defaultValue 24 */
  subnetBits?: number;
  /** The VLAN tags (or VXLAN VNIs) VNets in an admin's zone get. @defaultValue `{ from: 2000, to: 2999 }` */
  tags?: { from: number; to: number };
  /** Whether the lab's own simple zone serves DHCP (dnsmasq on the nodes). @defaultValue true */
  dhcp?: boolean;
}

/** `SdnSettings` with every default filled in, checked. */
export interface ResolvedSdnSettings {
  prefix: string;
  pool: { cidr: string; base: number; bits: number };
  subnetBits: number;
  tags: { from: number; to: number };
  dhcp: boolean;
  /** The id of the lab's own simple zone: the prefix and `zone` (`labzone`). */
  zoneId: string;
}

export const DEFAULT_SDN_POOL = '10.200.0.0/16';

/** Reads `a.b.c.d` as a 32-bit number; undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Reads an IPv4 CIDR (`10.200.0.0/16`): its network and prefix length; undefined when it is not a network address. */
export function parseCidr(text: string): { base: number; bits: number } | undefined {
  const [ip, bitsText] = text.split('/');
  if (ip === undefined || bitsText === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const base = parseIpv4(ip);
  const bits = Number(bitsText);
  if (base === undefined || bits > 32) return undefined;
  if (base % 2 ** (32 - bits) !== 0) return undefined;
  return { base, bits };
}

/** Whether two CIDRs share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const xEnd = x.base + 2 ** (32 - x.bits);
  const yEnd = y.base + 2 ** (32 - y.bits);
  return x.base < yEnd && y.base < xEnd;
}

/** Checks `settings` and fills in the defaults; a setting that cannot work → `SdnSettingsError`. */
export function resolveSdnSettings(settings: SdnSettings): ResolvedSdnSettings {
  const { prefix } = settings;
  if (!/^[a-zA-Z][a-zA-Z0-9]{0,2}$/.test(prefix))
    throw new SdnSettingsError({
      key: 'prefix',
      value: prefix,
      fix: 'use 1 to 3 letters or digits starting with a letter (PVE zone and VNet ids are at most 8 characters, and the lab needs 5 of them)',
    });
  const poolText = settings.pool ?? DEFAULT_SDN_POOL;
  const pool = parseCidr(poolText);
  if (!pool)
    throw new SdnSettingsError({
      key: 'pool',
      value: poolText,
      fix: 'use an IPv4 network in CIDR form, e.g. 10.200.0.0/16',
    });
  const subnetBits = settings.subnetBits ?? 24;
  if (!Number.isInteger(subnetBits) || subnetBits < pool.bits || subnetBits > 29)
    throw new SdnSettingsError({
      key: 'subnetBits',
      value: subnetBits,
      fix: `use a prefix length between ${pool.bits} (the pool's) and 29`,
    });
  const tags = settings.tags ?? { from: 2000, to: 2999 };
  if (
    !Number.isInteger(tags.from) ||
    !Number.isInteger(tags.to) ||
    tags.from < 1 ||
    tags.to > 16_777_215 ||
    tags.from > tags.to
  )
    throw new SdnSettingsError({
      key: 'tags',
      value: tags,
      fix: 'use { from, to } with 1 ≤ from ≤ to (VLANs up to 4094)',
    });
  return {
    prefix: prefix.toLowerCase(),
    pool: { cidr: poolText, ...pool },
    subnetBits,
    tags,
    dhcp: settings.dhcp ?? true,
    zoneId: `${prefix.toLowerCase()}zone`,
  };
}

/**
 * The VNet id of (class, student) at attempt `n`: the prefix, then a base-36 code of the hash of
 * the class and student, filling the id to PVE's 8 characters. The store keeps the id it got, so it
 * is stable; a collision (another record or a foreign VNet) takes the next attempt.
 */
export function vnetIdFor(prefix: string, classId: string, student: string | null, n: number): string {
  const digest = createHash('sha256')
    .update(`${classId}\0${student ?? ''}\0${n}`)
    .digest();
  const length = 8 - prefix.length;
  let code = '';
  for (let i = 0; code.length < length; i++) code += (digest[i]! % 36).toString(36);
  return `${prefix}${code}`;
}

/** The `i`-th subnet of the pool, its gateway (first address) and DHCP range (the tenth address to the last but one). */
export function poolSubnet(
  settings: ResolvedSdnSettings,
  i: number,
): { cidr: string; gateway: string; dhcpStart: string; dhcpEnd: string } | undefined {
  const size = 2 ** (32 - settings.subnetBits);
  const count = 2 ** (settings.subnetBits - settings.pool.bits);
  if (!Number.isInteger(i) || i < 0 || i >= count) return undefined;
  const base = settings.pool.base + i * size;
  return {
    cidr: `${formatIpv4(base)}/${settings.subnetBits}`,
    gateway: formatIpv4(base + 1),
    dhcpStart: formatIpv4(base + Math.min(10, size - 3)),
    dhcpEnd: formatIpv4(base + size - 2),
  };
}

/** How many subnets the pool holds. */
export function poolSize(settings: ResolvedSdnSettings): number {
  return 2 ** (settings.subnetBits - settings.pool.bits);
}

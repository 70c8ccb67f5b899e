import { die, paramError, PveSimError } from '../sim-error.js';
import { paramText } from '../param-text.js';
import {
  checkSectionConfig,
  deleteFromConfig,
  fileDigest,
  ipInCidr,
  KNOWN_IPAMS,
  parseDhcpRange,
  perlLines,
  VXLAN_OPTIONS_PVE8,
  pendingView,
  SIMULATED_ZONE_TYPES,
  splitDelete,
  SUBNET_OPTIONS,
  VNET_OPTIONS,
  ZONE_OPTIONS,
  type SdnObject,
  type SdnSection,
} from '../model/sdn.js';
import { pveVersionAtLeast } from '../pve-version.js';
import { reloadNetworkAll } from '../model/sdn-apply.js';
import { route, type RouteRequest, type RouteTable, type SimContext } from './route-table.js';

/** Zone types in PVE's enum the simulator does not model. */
const OTHER_ZONE_TYPES = ['evpn', 'faucet', 'qinq'];

/** Which view of a section a GET asks for: `pending=1`, `running=1` or the config files. */
function sectionView(ctx: SimContext, section: SdnSection, params: Record<string, unknown>): Map<string, SdnObject> {
  const sdn = ctx.state.sdn;
  for (const f of Object.values(sdn.config)) configFiles.add(f);
  if (params.pending === 1) return pendingView(sdn.runningOf(section), sdn.config[section]);
  if (params.running === 1) return sdn.runningOf(section);
  return sdn.config[section];
}

/**
 * A section's `digest` as the API reports it: the config file's; `null` for the pending and running
 * views, which pve-network builds as plain hashes without one (`$scfg->{digest} = $cfg->{digest}`).
 */
function digestOf(file: Map<string, SdnObject>): string | null {
  return configFiles.has(file) ? fileDigest(file) : null;
}

/** The config files (not views) of every simulated cluster. */
const configFiles = new WeakSet<Map<string, SdnObject>>();

/** `$api_sdn_zones_config`: the object, its id as `zone`, the file's digest. */
function zoneEntry(file: Map<string, SdnObject>, id: string): SdnObject {
  const z = file.get(id);
  if (!z) throw die(`sdn '${id}' does not exist`);
  return { ...structuredClone(z), zone: id, digest: digestOf(file) };
}

function vnetEntry(file: Map<string, SdnObject>, id: string): SdnObject {
  const v = file.get(id);
  if (!v) throw die(`sdn vnet '${id}' does not exist`);
  return { ...structuredClone(v), vnet: id, digest: digestOf(file) };
}

/** `$api_sdn_subnets_config` with `sdn_subnets_config`'s derived `id`, `cidr`, `zone`, `network`, `mask`. */
function subnetEntry(file: Map<string, SdnObject>, id: string): SdnObject {
  const s = file.get(id);
  if (!s) throw die(`sdn subnet '${id}' does not exist`);
  const [zone, network, mask] = id.split('-');
  const ranges = Array.isArray(s['dhcp-range']) ? (s['dhcp-range'] as string[]).map(parseDhcpRange) : [];
  return {
    ...structuredClone(s),
    id,
    cidr: `${network}/${mask}`,
    zone,
    network,
    mask,
    subnet: id,
    digest: digestOf(file),
    'dhcp-range': ranges,
  };
}

/**
 * `$check_vnet_access` of pve-network `src/PVE/API2/Network/SDN/{Vnets,Subnets}.pm`: the VNet must
 * exist in the config (`sdn vnet '<id>' does not exist`, 500), then `check_any` of `privs` on
 * `/sdn/zones/<zone>/<vnet>`.
 */
function checkVnetAccess(ctx: SimContext, req: RouteRequest, vnet: string, privs: string[]): SdnObject {
  const v = ctx.state.sdn.config.vnets.get(vnet);
  if (!v) throw die(`sdn vnet '${vnet}' does not exist`);
  ctx.access.check(req.principal.userid, `/sdn/zones/${paramText(v.zone)}/${vnet}`, privs, true);
  return v;
}

/** SectionConfig `assert_if_modified`. */
function assertDigest(file: Map<string, SdnObject>, digest: unknown): void {
  if (typeof digest === 'string' && digest !== fileDigest(file))
    throw die('detected modified configuration - file changed by other user? Try again.');
}

/** The request's parameters without the ones a handler extracts. */
function rest(params: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (!drop.includes(k)) out[k] = v;
  return out;
}

/**
 * The zone plugins' `vnet_update_hook` (pve-network `Zones/{Simple,Vlan,Vxlan}Plugin.pm`): no tag on
 * simple zones; a VLAN tag (≤ 4096, unique in the zone) on vlan zones; a VNI (≤ 16777216, unique
 * over vxlan/evpn zones) on vxlan zones.
 */
function vnetUpdateHook(ctx: SimContext, id: string, nextMac: () => string): void {
  const { vnets, zones } = ctx.state.sdn.config;
  const vnet = vnets.get(id)!;
  const zone = zones.get(paramText(vnet.zone));
  if (!zone)
    throw new Error(`cannot lookup undefined type! at /usr/share/perl5/PVE/API2/Network/SDN/Vnets.pm line 326.`);
  const tag = vnet.tag as number | undefined;
  if (zone.type === 'simple') {
    if (tag !== undefined) throw paramError({ tag: 'vlan tag is not allowed on simple zone' });
    vnet.mac ??= nextMac();
  } else if (zone.type === 'vlan') {
    if (tag === undefined) throw paramError({ tag: 'missing vlan tag' });
    if (tag > 4096) throw paramError({ tag: 'vlan tag max value is 4096' });
    for (const [other, o] of vnets)
      if (other !== id && o.zone === vnet.zone && o.tag && o.tag === tag)
        throw paramError({ tag: `tag ${tag} already exist in vnet ${other}` });
  } else if (zone.type === 'vxlan') {
    if (tag === undefined) throw paramError({ tag: 'missing vxlan tag' });
    if (tag > 16777216) throw paramError({ tag: 'vxlan tag max value is 16777216' });
    for (const other of [...vnets.keys()].sort()) {
      const o = vnets.get(other)!;
      const otherZone = zones.get(paramText(o.zone));
      if (other === id || (otherZone?.type !== 'vxlan' && otherZone?.type !== 'evpn')) continue;
      if (o.tag && o.tag === tag)
        throw paramError({ tag: `vxlan tag ${tag} already exist in vnet ${other} in zone ${paramText(o.zone)} ` });
    }
  }
  // VnetPlugin `on_update_hook`.
  if (vnet.vlanaware && ctx.state.sdn.subnetsOf(id).length > 0)
    throw paramError({ vlanaware: 'vlanaware vnet is not compatible with subnets' });
}

/** Whether the simulated PVE is 9 or later (pve-network 1.x: global lock, VXLAN fabrics). */
function nine(ctx: SimContext): boolean {
  return pveVersionAtLeast(ctx.pveVersion, 9, 0);
}

/** The options of zone `type` on this PVE version. */
function zoneOptions(ctx: SimContext, type: string): Record<string, { optional: boolean }> | undefined {
  return type === 'vxlan' && !nine(ctx) ? VXLAN_OPTIONS_PVE8 : ZONE_OPTIONS[type];
}

/**
 * Before PVE 9 there is no global lock: `lock-token` is a parameter the schema does not know, and
 * `/cluster/sdn/lock` and `/rollback` do not exist.
 */
function refuseLockTokenBefore9(ctx: SimContext, params: Record<string, unknown>): void {
  if (!nine(ctx) && params['lock-token'] !== undefined)
    throw paramError({
      'lock-token': 'property is not defined in schema and the schema does not allow additional properties',
    });
}

/** VxlanPlugin `on_update_hook` (PVE 9): exactly one of `peers` / `fabric`. */
function zoneUpdateHook(ctx: SimContext, zone: SdnObject): void {
  if (zone.type !== 'vxlan' || !nine(ctx)) return;
  if ((zone.peers && zone.fabric) || !(zone.peers || zone.fabric))
    throw paramError({
      fabric: 'must have exactly one of peers / fabric defined',
      peers: 'must have exactly one of peers / fabric defined',
    });
}

/** The checks zone create and update share (`dns`, `reversedns`, `dnszone`, `ipam`). */
function zoneReferences(opts: SdnObject): void {
  // No DNS plugin is configured in the simulator: every `dns` names one that does not exist.
  if (opts.dns) throw paramError({ dns: `${paramText(opts.dns)} don't exist` });
  if (opts.reversedns) throw paramError({ reversedns: `${paramText(opts.reversedns)} don't exist` });
  if (opts.dnszone && !opts.dns) throw paramError({ dnszone: 'missing dns server' });
  if (opts.ipam && !KNOWN_IPAMS.includes(paramText(opts.ipam)))
    throw paramError({ ipam: `${paramText(opts.ipam)} not existing` });
}

/**
 * SubnetPlugin `on_update_hook` + `validate_dhcp_ranges`: the VNet exists and is not VLAN-aware,
 * the gateway is in the subnet (a /32 IPv4 point-to-point excepted), DHCP ranges are single IPs in
 * the subnet, ordered, not overlapping.
 */
function subnetUpdateHook(ctx: SimContext, id: string, subnet: SdnObject): void {
  const [, network, mask] = id.split('-');
  const cidr = `${network}/${mask}`;
  const vnetid = subnet.vnet as string | undefined;
  if (vnetid) {
    const vnet = ctx.state.sdn.config.vnets.get(vnetid);
    if (!vnet) throw paramError({ vnet: `${vnetid} don't exist` });
    if (vnet.vlanaware) throw paramError({ vnet: "you can't add a subnet on a vlanaware vnet" });
  }
  const gateway = subnet.gateway as string | undefined;
  const pointopoint = gateway !== undefined && !gateway.includes(':') && Number(mask) === 32;
  if (gateway && !ipInCidr(gateway, cidr) && !pointopoint)
    throw paramError({ gateway: `${gateway} is not in subnet ${cidr}` });
  const ranges: Array<[bigint, bigint]> = [];
  for (const text of (subnet['dhcp-range'] as string[] | undefined) ?? []) {
    const r = parseDhcpRange(text);
    const start = r['start-address'] ?? '';
    const end = r['end-address'] ?? '';
    const s = ipValue(start);
    const e = ipValue(end);
    if (s === undefined) throw paramError({ 'dhcp-range': `start-address is not a valid IP ${start}` });
    if (e === undefined) throw paramError({ 'dhcp-range': `end-address is not a valid IP ${end}` });
    if (s > e) throw paramError({ 'dhcp-range': `start-address ${start} must be smaller than end-address ${end}` });
    if (!ipInCidr(start, cidr)) throw paramError({ 'dhcp-range': `start-address ${start} is not in subnet ${cidr}` });
    if (!ipInCidr(end, cidr)) throw paramError({ 'dhcp-range': `end-address ${end} is not in subnet ${cidr}` });
    for (const [os, oe] of ranges)
      if (s <= oe && os <= e) throw paramError({ 'dhcp-range': 'dhcp ranges must not overlap' });
    ranges.push([s, e]);
  }
}

function ipValue(ip: string): bigint | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return parts.reduce((acc, p) => acc * 256n + BigInt(p), 0n);
  }
  if (!ip.includes(':') || !ipInCidr(ip, `${ip}/128`)) return undefined;
  const halves = ip.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  return groups.reduce((acc, g) => acc * 65536n + BigInt(Number.parseInt(g, 16)), 0n) + (1n << 200n);
}

/** A MAC for a simple zone's VNet (`random_ether_addr` with the default `BC:24:11` prefix). */
function macMaker(ctx: SimContext): () => string {
  return () => {
    const n = ctx.state.sdn.config.vnets.size + ctx.state.sdn.runningOf('vnets').size + 1;
    const hex = (n * 2654435761).toString(16).padStart(8, '0').slice(-6).toUpperCase();
    return `BC:24:11:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
  };
}

/**
 * `/cluster/sdn` and its zones, VNets and subnets, after pve-network `src/PVE/API2/Network/SDN.pm`,
 * `SDN/Zones.pm`, `SDN/Vnets.pm` and `SDN/Subnets.pm` (HEAD^ of ecf98c5, the API the schema shows).
 * Changes go to the pending config; `PUT /cluster/sdn` commits them and reloads every node.
 */
export function registerSdnRoutes(table: RouteTable): void {
  const requireSdn = (ctx: SimContext, req?: RouteRequest): void => {
    if (!ctx.state.sdnAvailable)
      throw new PveSimError(501, `Method '/cluster/sdn' not implemented: SDN needs PVE 8.1 or later`);
    if (req) refuseLockTokenBefore9(ctx, req.params);
  };
  const requireLock = (ctx: SimContext, method: string, path: string): void => {
    requireSdn(ctx);
    if (!nine(ctx)) throw new PveSimError(501, `Method '${method} /api2/json${path}' not implemented`);
  };

  route(table, 'GET', '/cluster/sdn', (_req, ctx) => {
    requireSdn(ctx);
    // `fabrics` since pve-network 1.x (PVE 9).
    const ids = ['vnets', 'zones', 'controllers', 'ipams', 'dns', ...(nine(ctx) ? ['fabrics'] : [])];
    return ids.map((id) => ({ id }));
  });

  // `reload`: commit under the SDN lock, then a `reloadnetworkall` worker on this node that runs
  // `pvesh set /nodes/<node>/network` for every node in turn (each a synchronous `srvreload` task).
  route(table, 'PUT', '/cluster/sdn', (req, ctx) => {
    requireSdn(ctx, req);
    const sdn = ctx.state.sdn;
    const token = req.params['lock-token'] as string | undefined;
    const release = req.params['release-lock'] !== 0;
    sdn.locked('could not commit SDN config', token, () => {
      sdn.commit();
      if (token && release) sdn.lockToken = undefined;
    });
    // The node that answered: the simulator's API entry point is the first node online.
    const local = [...ctx.state.nodes.values()].find((n) => n.online)?.name ?? [...ctx.state.nodes.keys()][0]!;
    return reloadNetworkAll(ctx.state, req.principal.userid, local).upid;
  });

  route(table, 'POST', '/cluster/sdn/lock', (req, ctx) => {
    requireLock(ctx, 'POST', '/cluster/sdn/lock');
    const sdn = ctx.state.sdn;
    return sdn.locked('could not acquire lock for SDN config', undefined, () => {
      if (req.params['allow-pending'] !== 1 && sdn.hasPendingChanges())
        throw new Error(
          `configuration has pending changes at /usr/share/perl5/PVE/API2/Network/SDN.pm line ${perlLines(true).pendingChanges}.`,
        );
      return sdn.createLock();
    });
  });

  route(table, 'DELETE', '/cluster/sdn/lock', (req, ctx) => {
    requireLock(ctx, 'DELETE', '/cluster/sdn/lock');
    const sdn = ctx.state.sdn;
    if (req.params.force === 1) sdn.lockToken = undefined;
    else
      sdn.locked(
        'could not release lock',
        req.params['lock-token'] as string | undefined,
        () => (sdn.lockToken = undefined),
      );
    return null;
  });

  route(table, 'POST', '/cluster/sdn/rollback', (req, ctx) => {
    requireLock(ctx, 'POST', '/cluster/sdn/rollback');
    const sdn = ctx.state.sdn;
    const token = req.params['lock-token'] as string | undefined;
    sdn.locked('could not rollback SDN configuration', token, () => {
      for (const section of ['zones', 'vnets', 'subnets'] as const) {
        sdn.config[section].clear();
        for (const [id, o] of sdn.runningOf(section)) sdn.config[section].set(id, structuredClone(o));
      }
      if (token && req.params['release-lock'] !== 0) sdn.lockToken = undefined;
    });
    return null;
  });

  // ---- a node's view (pve-network `src/PVE/API2/Network/SDN/Nodes/{Zones,Zone}.pm`, `Zones.pm` `status`)
  route(table, 'GET', '/nodes/{node}/sdn/zones', (req, ctx) => {
    requireSdn(ctx);
    const node = req.params.node as string;
    ctx.state.requireNode(node);
    return [...ctx.state.sdn.nodeStatus(node).zones].map(([zone, z]) => ({ zone, status: z.status }));
  });

  route(table, 'GET', '/nodes/{node}/sdn/zones/{zone}/content', (req, ctx) => {
    requireSdn(ctx);
    const node = req.params.node as string;
    ctx.state.requireNode(node);
    const out: SdnObject[] = [];
    for (const [vnet, v] of ctx.state.sdn.nodeStatus(node).vnets)
      if (v.zone === req.params.zone)
        // `$item->{statusmsg} = …` of an available VNet is undef: JSON null.
        out.push({ vnet, status: v.status, statusmsg: v.statusmsg ?? null });
    return out;
  });

  // ---- zones (pve-network `src/PVE/API2/Network/SDN/Zones.pm`)
  route(table, 'GET', '/cluster/sdn/zones', (req, ctx) => {
    requireSdn(ctx, req);
    const file = sectionView(ctx, 'zones', req.params);
    const out: SdnObject[] = [];
    for (const id of [...file.keys()].sort()) {
      if (!ctx.access.has(req.principal.userid, `/sdn/zones/${id}`, ['SDN.Audit', 'SDN.Allocate'], true)) continue;
      const entry = zoneEntry(file, id);
      if (req.params.type !== undefined && req.params.type !== entry.type) continue;
      out.push(entry);
    }
    return out;
  });

  route(table, 'GET', '/cluster/sdn/zones/{zone}', (req, ctx) => {
    requireSdn(ctx, req);
    return zoneEntry(sectionView(ctx, 'zones', req.params), req.params.zone as string);
  });

  route(table, 'POST', '/cluster/sdn/zones', (req, ctx) => {
    requireSdn(ctx, req);
    const type = req.params.type as string;
    const id = req.params.zone as string;
    if (OTHER_ZONE_TYPES.includes(type))
      throw new PveSimError(
        501,
        `pve-sim: SDN zone type '${type}' is not simulated (only ${SIMULATED_ZONE_TYPES.join(', ')})`,
      );
    const options = zoneOptions(ctx, type);
    if (!options) throw die(`unknown section type '${type}'`);
    const opts = checkSectionConfig(options, rest(req.params, ['type', 'zone', 'lock-token']), true);
    const sdn = ctx.state.sdn;
    sdn.locked('create sdn zone object failed', req.params['lock-token'] as string | undefined, () => {
      if (sdn.config.zones.has(id)) throw new Error(`sdn zone object ID '${id}' already defined`);
      zoneReferences(opts);
      const zone = { type, ...opts };
      zoneUpdateHook(ctx, zone);
      sdn.config.zones.set(id, zone);
    });
    return null;
  });

  route(table, 'PUT', '/cluster/sdn/zones/{zone}', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.zone as string;
    const sdn = ctx.state.sdn;
    sdn.locked('update sdn zone object failed', req.params['lock-token'] as string | undefined, () => {
      const file = sdn.config.zones;
      assertDigest(file, req.params.digest);
      const current = file.get(id);
      if (!current) throw new Error(`sdn '${id}' does not exist`);
      const type = paramText(current.type);
      const options = zoneOptions(ctx, type) ?? {};
      const opts = checkSectionConfig(options, rest(req.params, ['zone', 'digest', 'delete', 'lock-token']), false);
      const next = structuredClone(current);
      deleteFromConfig(next, options, opts, splitDelete(req.params.delete));
      Object.assign(next, opts);
      if ((next.ipam ?? '') !== (current.ipam ?? '')) {
        for (const s of sdn.config.subnets.keys())
          if (s.split('-')[0] === id)
            throw paramError({ ipam: "can't change ipam if a subnet is already defined in this zone" });
      }
      zoneReferences(opts);
      zoneUpdateHook(ctx, next);
      file.set(id, next);
    });
    return null;
  });

  route(table, 'DELETE', '/cluster/sdn/zones/{zone}', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.zone as string;
    const sdn = ctx.state.sdn;
    sdn.locked('delete sdn zone object failed', req.params['lock-token'] as string | undefined, () => {
      if (!sdn.config.zones.has(id)) throw new Error(`sdn '${id}' does not exist`);
      // Zones/Plugin.pm `on_delete_hook`: a die without newline, so Perl appends where.
      for (const [vnet, v] of sdn.config.vnets)
        if (v.zone === id)
          throw new Error(
            `zone ${id} is used by vnet ${vnet} at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line ${perlLines(nine(ctx)).zoneUsed}.`,
          );
      sdn.config.zones.delete(id);
    });
    return null;
  });

  // ---- vnets (pve-network `src/PVE/API2/Network/SDN/Vnets.pm`)
  route(table, 'GET', '/cluster/sdn/vnets', (req, ctx) => {
    requireSdn(ctx, req);
    const file = sectionView(ctx, 'vnets', req.params);
    const out: SdnObject[] = [];
    for (const id of [...file.keys()].sort()) {
      const entry = vnetEntry(file, id);
      const zone = paramText(entry.zone ?? (entry.pending as SdnObject | undefined)?.zone);
      if (!ctx.access.has(req.principal.userid, `/sdn/zones/${zone}/${id}`, ['SDN.Audit', 'SDN.Allocate'], true))
        continue;
      out.push(entry);
    }
    return out;
  });

  route(table, 'GET', '/cluster/sdn/vnets/{vnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.vnet as string;
    checkVnetAccess(ctx, req, id, ['SDN.Audit', 'SDN.Allocate']);
    return vnetEntry(sectionView(ctx, 'vnets', req.params), id);
  });

  route(table, 'POST', '/cluster/sdn/vnets', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.vnet as string;
    const sdn = ctx.state.sdn;
    sdn.locked('create sdn vnet object failed', req.params['lock-token'] as string | undefined, () => {
      const opts = checkSectionConfig(VNET_OPTIONS, rest(req.params, ['type', 'vnet', 'lock-token']), true);
      if (sdn.config.vnets.has(id)) throw new Error(`sdn vnet object ID '${id}' already defined`);
      const before = new Map(sdn.config.vnets);
      sdn.config.vnets.set(id, { type: 'vnet', ...opts });
      try {
        vnetUpdateHook(ctx, id, macMaker(ctx));
      } catch (error) {
        sdn.config.vnets.clear();
        for (const [k, v] of before) sdn.config.vnets.set(k, v);
        throw error;
      }
    });
    return null;
  });

  route(table, 'PUT', '/cluster/sdn/vnets/{vnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.vnet as string;
    checkVnetAccess(ctx, req, id, ['SDN.Allocate']);
    const sdn = ctx.state.sdn;
    sdn.locked('update sdn vnet object failed', req.params['lock-token'] as string | undefined, () => {
      const file = sdn.config.vnets;
      assertDigest(file, req.params.digest);
      const opts = checkSectionConfig(
        VNET_OPTIONS,
        rest(req.params, ['vnet', 'digest', 'delete', 'lock-token']),
        false,
      );
      const current = file.get(id)!;
      const next = structuredClone(current);
      deleteFromConfig(next, VNET_OPTIONS, opts, splitDelete(req.params.delete));
      Object.assign(next, opts);
      if (!next.zone) throw paramError({ zone: 'cannot delete zone' });
      if (sdn.subnetsOf(id).length > 0 && next.zone !== current.zone)
        throw paramError({ zone: "can't change zone if subnets exist" });
      file.set(id, next);
      try {
        vnetUpdateHook(ctx, id, macMaker(ctx));
      } catch (error) {
        file.set(id, current);
        throw error;
      }
    });
    return null;
  });

  route(table, 'DELETE', '/cluster/sdn/vnets/{vnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const id = req.params.vnet as string;
    checkVnetAccess(ctx, req, id, ['SDN.Allocate']);
    const sdn = ctx.state.sdn;
    sdn.locked('delete sdn vnet object failed', req.params['lock-token'] as string | undefined, () => {
      // VnetPlugin `on_delete_hook`: only subnets block it; guests using the VNet are not checked.
      if (sdn.subnetsOf(id).length > 0) throw paramError({ vnet: "Can't delete vnet if subnets exists" });
      sdn.config.vnets.delete(id);
    });
    return null;
  });

  // ---- subnets (pve-network `src/PVE/API2/Network/SDN/Subnets.pm`)
  route(table, 'GET', '/cluster/sdn/vnets/{vnet}/subnets', (req, ctx) => {
    requireSdn(ctx, req);
    const vnet = req.params.vnet as string;
    checkVnetAccess(ctx, req, vnet, ['SDN.Audit', 'SDN.Allocate']);
    const file = sectionView(ctx, 'subnets', req.params);
    return [...file.keys()]
      .sort()
      .map((id) => subnetEntry(file, id))
      .filter((s) => s.vnet === vnet);
  });

  route(table, 'GET', '/cluster/sdn/vnets/{vnet}/subnets/{subnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const vnet = req.params.vnet as string;
    checkVnetAccess(ctx, req, vnet, ['SDN.Audit', 'SDN.Allocate']);
    const entry = subnetEntry(sectionView(ctx, 'subnets', req.params), req.params.subnet as string);
    if (entry.vnet !== vnet) throw paramError({ vnet: 'wrong vnet' });
    return entry;
  });

  route(table, 'POST', '/cluster/sdn/vnets/{vnet}/subnets', (req, ctx) => {
    requireSdn(ctx, req);
    const vnet = req.params.vnet as string;
    const cidr = req.params.subnet as string;
    const v = checkVnetAccess(ctx, req, vnet, ['SDN.Allocate']);
    const sdn = ctx.state.sdn;
    sdn.locked('create sdn subnet object failed', req.params['lock-token'] as string | undefined, () => {
      const id = `${paramText(v.zone)}-${cidr.replace('/', '-')}`;
      const opts = checkSectionConfig(SUBNET_OPTIONS, rest(req.params, ['type', 'subnet', 'lock-token']), true);
      if (sdn.config.subnets.has(id)) throw new Error(`sdn subnet object ID '${id}' already defined`);
      const subnet = { type: 'subnet', ...opts };
      subnetUpdateHook(ctx, id, subnet);
      sdn.config.subnets.set(id, subnet);
    });
    return null;
  });

  route(table, 'PUT', '/cluster/sdn/vnets/{vnet}/subnets/{subnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const vnet = req.params.vnet as string;
    const id = req.params.subnet as string;
    checkVnetAccess(ctx, req, vnet, ['SDN.Allocate']);
    const sdn = ctx.state.sdn;
    sdn.locked('update sdn subnet object failed', req.params['lock-token'] as string | undefined, () => {
      const file = sdn.config.subnets;
      const current = file.get(id);
      if (!current) throw new Error(`sdn subnet '${id}' does not exist`);
      assertDigest(file, req.params.digest);
      const opts = checkSectionConfig(
        SUBNET_OPTIONS,
        rest(req.params, ['subnet', 'digest', 'delete', 'lock-token']),
        false,
      );
      const next = structuredClone(current);
      deleteFromConfig(next, SUBNET_OPTIONS, opts, splitDelete(req.params.delete));
      Object.assign(next, opts);
      subnetUpdateHook(ctx, id, next);
      file.set(id, next);
    });
    return null;
  });

  route(table, 'DELETE', '/cluster/sdn/vnets/{vnet}/subnets/{subnet}', (req, ctx) => {
    requireSdn(ctx, req);
    const vnet = req.params.vnet as string;
    const id = req.params.subnet as string;
    const v = checkVnetAccess(ctx, req, vnet, ['SDN.Allocate']);
    const sdn = ctx.state.sdn;
    sdn.locked('delete sdn subnet object failed', req.params['lock-token'] as string | undefined, () => {
      const subnet = sdn.config.subnets.get(id);
      const zone = sdn.config.zones.get(paramText(v.zone));
      // `del_subnet` with the zone's IPAM (pve): the subnet must be in the IPAM DB.
      if (!subnet && zone?.ipam) throw new Error(`zone '' doesn't exist in IPAM DB`);
      sdn.config.subnets.delete(id);
    });
    return null;
  });
}

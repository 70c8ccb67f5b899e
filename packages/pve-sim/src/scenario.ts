import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ClusterState } from './model/cluster-state.js';
import { formatDrive } from './model/drives.js';
import { vnetsForNode } from './model/sdn-apply.js';
import { cloudinitVolname, diskVolname, formatSize, toBaseVolname } from './model/storage-naming.js';
import { DefaultTimings, type SimGuest, type SimTimings } from './model/types.js';
import type { SimTime } from './sim-time.js';
import { presets } from './presets.js';

const GiB = 1024 ** 3;

const diskSchema = z.object({ storage: z.string(), sizeGiB: z.number().positive() }).strict();

const guestSchema = z
  .object({
    vmid: z.number().int().min(100).max(999_999_999),
    type: z.enum(['qemu', 'lxc']).default('qemu'),
    node: z.string(),
    name: z.string(),
    template: z.boolean().default(false),
    status: z.enum(['running', 'stopped']).default('stopped'),
    memory: z.number().int().positive().default(2048),
    cores: z.number().int().positive().default(2),
    ostype: z.string().default('l26'),
    agent: z.boolean().default(true),
    tags: z.string().optional(),
    pool: z.string().optional(),
    /** Disks to create, e.g. `{ "scsi0": { "storage": "local-lvm", "sizeGiB": 32 } }`. */
    disks: z.record(z.string(), diskSchema).default({}),
    /** Storage for a cloud-init drive on ide2. */
    cloudinit: z.string().optional(),
    /** Extra raw config lines, written as they are (e.g. a broken template's `ide2`). */
    config: z.record(z.string(), z.string()).default({}),
    /** The guest does not power off on a shutdown request (see `guestBehaviour.ignoreAcpiRate`). */
    ignoresAcpi: z.boolean().optional(),
  })
  .strict();

const generateSchema = z
  .object({
    count: z.number().int().min(0).max(200_000),
    vmidStart: z.number().int().min(100),
    nodes: z.array(z.string()).min(1).optional(),
    storage: z.string(),
    runningFraction: z.number().min(0).max(1).default(0.5),
    namePrefix: z.string().default('vm'),
    lxcFraction: z.number().min(0).max(1).default(0),
    windowsFraction: z.number().min(0).max(1).default(0.2),
  })
  .strict();

/** A scenario file: the cluster to simulate. Validated; errors name the bad key. */
/** An SDN zone or VNet id (pve-network `parse_sdn_zone_id` / `parse_sdn_vnet_id`). */
const sdnId = z
  .string()
  .regex(/^[a-z][a-z0-9]*[a-z0-9]$/i, 'letters and digits, a letter first')
  .max(8);

/**
 * SDN objects the cluster starts with, written to the config and applied (running config version
 * 1, every node's VNet bridges created) unless `applied: false` leaves them pending.
 */
const sdnSchema = z
  .object({
    applied: z.boolean().default(true),
    zones: z
      .record(
        sdnId,
        z
          .object({
            type: z.enum(['simple', 'vlan', 'vxlan']),
            bridge: z.string().optional(),
            peers: z.string().optional(),
            ipam: z.string().optional(),
            dhcp: z.literal('dnsmasq').optional(),
            nodes: z.string().optional(),
            mtu: z.number().int().optional(),
          })
          .strict(),
      )
      .default({}),
    vnets: z
      .record(
        sdnId,
        z.object({ zone: sdnId, tag: z.number().int().positive().optional(), alias: z.string().optional() }).strict(),
      )
      .default({}),
    subnets: z
      .array(
        z
          .object({
            vnet: sdnId,
            subnet: z.string().regex(/^[0-9a-f.:]+\/\d+$/i, 'a CIDR such as 10.0.0.0/24'),
            gateway: z.string().optional(),
            snat: z.boolean().optional(),
            dhcpRange: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const scenarioSchema = z
  .object({
    cluster: z.string().default('pve-sim'),
    nodes: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/),
            cpus: z.number().int().positive().default(32),
            memoryGiB: z.number().positive().default(128),
            online: z.boolean().default(true),
            baseCpu: z.number().min(0).max(1).default(0.03),
          })
          .strict(),
      )
      .min(1),
    storages: z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i),
            type: z.enum(['lvmthin', 'lvm', 'dir', 'zfspool', 'nfs', 'rbd']),
            shared: z.boolean().default(false),
            nodes: z.union([z.literal('*'), z.array(z.string())]).default('*'),
            sizeGiB: z.number().positive().default(2000),
            throughputMBps: z.number().positive().default(500),
            content: z.string().default('images,rootdir'),
            format: z.enum(['raw', 'qcow2']).default('qcow2'),
          })
          .strict(),
      )
      .default([]),
    guests: z.array(guestSchema).default([]),
    generate: generateSchema.optional(),
    pools: z.array(z.string()).default([]),
    /** Users (`alice@pve`), with a password for ticket logins and the groups they are in. */
    users: z
      .array(
        z
          .object({
            userid: z.string().regex(/^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$/),
            password: z.string().optional(),
            groups: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([]),
    /** API tokens; `privsep` (PVE's default for new tokens) limits a token to its own ACLs. */
    tokens: z
      .array(
        z
          .object({
            tokenId: z.string().regex(/^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]*$/),
            secret: z.string(),
            privsep: z.boolean().default(true),
          })
          .strict(),
      )
      .default([]),
    /** Custom roles (the built-in ones — Administrator, PVEVMAdmin, PVEVMUser, PVEAuditor, … — always exist). */
    roles: z.array(z.object({ roleid: z.string(), privs: z.array(z.string()) }).strict()).default([]),
    /** ACL entries: a role on a path for users, groups and/or tokens, propagated by default. */
    acl: z
      .array(
        z
          .object({
            path: z.string().regex(/^\/[A-Za-z0-9.\-_/]*$/),
            roles: z.union([z.string(), z.array(z.string())]),
            users: z.array(z.string()).default([]),
            groups: z.array(z.string()).default([]),
            tokens: z.array(z.string()).default([]),
            propagate: z.boolean().default(true),
          })
          .strict(),
      )
      .default([]),
    /** The PVE version simulated: error bodies carry `message` only from 8.3 on. @defaultValue `'9.1.3'` */
    pveVersion: z
      .string()
      .regex(/^\d+\.\d+(\.\d+)?$/)
      .default('9.1.3'),
    /**
     * Races other API clients cause: `cloneRate`, the share of clones whose worker finds the new VM's
     * config lock taken by another request, so they fail as a task after PVE's 1 s lock timeout;
     * `crossNodeVmidRate`, the share of clones whose new VMID another client takes on another node
     * after the early check, so the task fails with `close (rename) atomic file … failed: File exists`.
     */
    races: z
      .object({
        cloneRate: z.number().min(0).max(1).default(0),
        crossNodeVmidRate: z.number().min(0).max(1).default(0),
      })
      .strict()
      .default({ cloneRate: 0, crossNodeVmidRate: 0 }),
    timings: z.record(z.string(), z.number().nonnegative()).default({}),
    /**
     * How guests behave: `ignoreAcpiRate` is the share of guests (decided once per guest, seeded)
     * that never power off on a shutdown request, as guests without an ACPI daemon do.
     */
    /** SDN zones, VNets and subnets the cluster starts with (PVE 8.1+). */
    sdn: sdnSchema.optional(),
    guestBehaviour: z
      .object({ ignoreAcpiRate: z.number().min(0).max(1).default(0) })
      .strict()
      .default({ ignoreAcpiRate: 0 }),
  })
  .strict();

/** A scenario as written (defaults optional). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario. */
export type Scenario = z.output<typeof scenarioSchema>;

/** A scenario error that points at the key to fix. */
export class ScenarioError extends Error {}

/** Validates a scenario object; the error names the first bad key. */
export function parseScenario(input: unknown, origin = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ScenarioError(`${origin}: key '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  const scenario = result.data;
  const nodes = new Set(scenario.nodes.map((n) => n.name));
  const storages = new Set(scenario.storages.map((s) => s.id));
  scenario.guests.forEach((g, i) => {
    if (!nodes.has(g.node))
      throw new ScenarioError(
        `${origin}: key 'guests.${i}.node': no node '${g.node}' (nodes: ${[...nodes].join(', ')})`,
      );
    for (const [key, disk] of Object.entries(g.disks)) {
      if (!storages.has(disk.storage))
        throw new ScenarioError(`${origin}: key 'guests.${i}.disks.${key}.storage': no storage '${disk.storage}'`);
    }
  });
  const unknownTiming = Object.keys(scenario.timings).find((k) => !(k in DefaultTimings));
  if (unknownTiming)
    throw new ScenarioError(
      `${origin}: key 'timings.${unknownTiming}': unknown timing (known: ${Object.keys(DefaultTimings).join(', ')})`,
    );
  return scenario;
}

/** Loads a preset by name (`small`, `school`, `ceph`, `large`, `firstday`, `firstday-ceph`) or a JSON scenario file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const preset = presets[nameOrPath];
  if (preset) return parseScenario(preset, `preset '${nameOrPath}'`);
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (err) {
    throw new ScenarioError(
      `scenario '${nameOrPath}' is neither a preset (${Object.keys(presets).join(', ')}) nor a readable file (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`scenario file ${nameOrPath} is not valid JSON: ${(err as Error).message}`);
  }
  return parseScenario(json, nameOrPath);
}

/** Builds the cluster state a scenario describes. */
export function buildClusterState(scenario: Scenario, time: SimTime, random: () => number): ClusterState {
  const timings: SimTimings = { ...DefaultTimings, ...scenario.timings };
  const state = new ClusterState(scenario.cluster, time, timings);
  state.pveVersion = scenario.pveVersion;
  state.ignoreAcpiRate = scenario.guestBehaviour.ignoreAcpiRate;
  scenario.nodes.forEach((n, i) => {
    state.addNode({
      name: n.name,
      online: n.online,
      maxcpu: n.cpus,
      maxmem: Math.round(n.memoryGiB * GiB),
      baseMem: Math.round(n.memoryGiB * GiB * 0.04),
      baseCpu: n.baseCpu,
      bootedAt: time.now() - (86_400 + i * 3600) * 1000,
      ip: `127.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`,
      rootfsTotal: 100 * GiB,
    });
  });
  const allNodes = scenario.nodes.map((n) => n.name);
  for (const s of scenario.storages) {
    state.addStorage({
      id: s.id,
      type: s.type,
      shared: s.shared,
      nodes: s.nodes === '*' ? allNodes : s.nodes,
      content: s.content,
      totalBytes: Math.round(s.sizeGiB * GiB),
      throughputBytesPerSec: s.throughputMBps * 1024 * 1024,
      format: s.type === 'dir' || s.type === 'nfs' ? s.format : 'raw',
    });
  }
  for (const pool of scenario.pools) state.pools.add(pool);
  for (const g of scenario.guests) addScenarioGuest(state, g, time);
  if (scenario.generate) generateGuests(state, scenario.generate, allNodes, time, random);
  if (scenario.sdn) addScenarioSdn(state, scenario.sdn);
  return state;
}

/** Writes a scenario's SDN objects to the config; applied, they are running and on every node. */
function addScenarioSdn(state: ClusterState, sdn: z.output<typeof sdnSchema>): void {
  if (!state.sdnAvailable) throw new ScenarioError(`sdn: SDN needs PVE 8.1 or later (pveVersion ${state.pveVersion})`);
  for (const [id, zone] of Object.entries(sdn.zones)) {
    if (zone.type === 'vlan' && !zone.bridge) throw new ScenarioError(`sdn.zones.${id}: a vlan zone needs 'bridge'`);
    if (zone.type === 'vxlan' && !zone.peers) throw new ScenarioError(`sdn.zones.${id}: a vxlan zone needs 'peers'`);
    if (zone.dhcp && zone.type !== 'simple')
      throw new ScenarioError(`sdn.zones.${id}: 'dhcp' is for simple zones only`);
    state.sdn.config.zones.set(id, { ...zone });
  }
  for (const [id, vnet] of Object.entries(sdn.vnets)) {
    const zone = sdn.zones[vnet.zone];
    if (!zone) throw new ScenarioError(`sdn.vnets.${id}: zone '${vnet.zone}' is not in sdn.zones`);
    if ((zone.type === 'simple') !== (vnet.tag === undefined))
      throw new ScenarioError(
        `sdn.vnets.${id}: ${zone.type === 'simple' ? 'no tag on a simple zone' : 'a tag is required'}`,
      );
    state.sdn.config.vnets.set(id, { type: 'vnet', ...vnet });
  }
  for (const s of sdn.subnets) {
    const vnet = sdn.vnets[s.vnet];
    if (!vnet) throw new ScenarioError(`sdn.subnets: vnet '${s.vnet}' is not in sdn.vnets`);
    const subnet: Record<string, unknown> = { type: 'subnet', vnet: s.vnet };
    if (s.gateway) subnet.gateway = s.gateway;
    if (s.snat !== undefined) subnet.snat = s.snat ? 1 : 0;
    if (s.dhcpRange) subnet['dhcp-range'] = s.dhcpRange;
    state.sdn.config.subnets.set(`${vnet.zone}-${s.subnet.replace('/', '-')}`, subnet);
  }
  if (!sdn.applied) return;
  state.sdn.commit();
  for (const node of state.nodes.keys())
    state.sdn.nodes.set(node, { vnets: vnetsForNode(state, node, () => undefined) });
}

type GuestSpec = z.output<typeof guestSchema>;

function addScenarioGuest(state: ClusterState, g: GuestSpec, time: SimTime): void {
  const config: Record<string, string> = {
    name: g.name,
    memory: String(g.memory),
    cores: String(g.cores),
    sockets: '1',
    ostype: g.ostype,
    scsihw: 'virtio-scsi-single',
    net0: `virtio=BC:24:11:${hexByte(g.vmid >> 16)}:${hexByte(g.vmid >> 8)}:${hexByte(g.vmid)},bridge=vmbr0`,
    smbios1: `uuid=00000000-0000-4000-8000-${g.vmid.toString(16).padStart(12, '0')}`,
    vmgenid: `00000000-0000-4000-9000-${g.vmid.toString(16).padStart(12, '0')}`,
  };
  if (g.type === 'lxc') {
    delete config.scsihw;
    delete config.smbios1;
    delete config.vmgenid;
    config.hostname = g.name;
    delete config.name;
    config.net0 = `name=eth0,bridge=vmbr0,hwaddr=BC:24:11:${hexByte(g.vmid >> 16)}:${hexByte(g.vmid >> 8)}:${hexByte(g.vmid)},ip=dhcp`;
  }
  if (g.agent && g.type === 'qemu') config.agent = '1';
  if (g.tags) config.tags = g.tags;
  let index = 0;
  const bootOrder: string[] = [];
  for (const [key, disk] of Object.entries(g.disks)) {
    const store = state.storageOn(g.node, disk.storage);
    if (!store) throw new ScenarioError(`guest ${g.vmid}: storage '${disk.storage}' is not on node '${g.node}'`);
    let volname = diskVolname(store.def, g.vmid, index++);
    if (g.template) volname = toBaseVolname(store.def, volname);
    const size = disk.sizeGiB * GiB;
    store.volumes.set(volname, {
      volname,
      vmid: g.vmid,
      sizeBytes: size,
      usedBytes: store.def.type === 'lvm' ? size : Math.round(size * 0.3),
    });
    config[key] = formatDrive(`${disk.storage}:${volname}`, { iothread: '1', size: formatSize(size) });
    if (key !== 'rootfs') bootOrder.push(key);
  }
  if (g.cloudinit) {
    const store = state.storageOn(g.node, g.cloudinit);
    if (!store)
      throw new ScenarioError(`guest ${g.vmid}: cloud-init storage '${g.cloudinit}' is not on node '${g.node}'`);
    const volname = cloudinitVolname(store.def, g.vmid);
    store.volumes.set(volname, { volname, vmid: g.vmid, sizeBytes: 4 * 1024 ** 2, usedBytes: 4 * 1024 ** 2 });
    config.ide2 = `${g.cloudinit}:${volname},media=cdrom`;
  }
  if (bootOrder.length && g.type === 'qemu') config.boot = `order=${bootOrder.join(';')}`;
  if (g.template) config.template = '1';
  Object.assign(config, g.config);
  const guest: SimGuest = {
    vmid: g.vmid,
    type: g.type,
    node: g.node,
    config,
    status: g.template ? 'stopped' : g.status,
    cpuLoad: 0.05 + (g.vmid % 7) * 0.02,
  };
  if (g.pool) guest.pool = g.pool;
  if (g.ignoresAcpi !== undefined) guest.ignoresAcpi = g.ignoresAcpi;
  if (guest.status === 'running') {
    guest.startedAt = time.now() - (3600 + (g.vmid % 1000) * 60) * 1000;
    guest.agentReadyAt = guest.startedAt;
  }
  state.guests.set(g.vmid, guest);
}

function hexByte(n: number): string {
  return (n & 255).toString(16).toUpperCase().padStart(2, '0');
}

function generateGuests(
  state: ClusterState,
  gen: z.output<typeof generateSchema>,
  allNodes: string[],
  time: SimTime,
  random: () => number,
): void {
  const nodes = gen.nodes ?? allNodes;
  for (let i = 0; i < gen.count; i++) {
    const vmid = gen.vmidStart + i;
    const lxc = random() < gen.lxcFraction;
    const windows = !lxc && random() < gen.windowsFraction;
    addScenarioGuest(
      state,
      {
        vmid,
        type: lxc ? 'lxc' : 'qemu',
        node: nodes[i % nodes.length]!,
        name: `${gen.namePrefix}-${vmid}`,
        template: false,
        status: random() < gen.runningFraction ? 'running' : 'stopped',
        memory: windows ? 4096 : 1024,
        cores: windows ? 2 : 1,
        ostype: lxc ? 'debian' : windows ? 'win11' : 'l26',
        agent: !lxc,
        tags: `gen;batch-${Math.floor(i / 100)}`,
        disks: { [lxc ? 'rootfs' : 'scsi0']: { storage: gen.storage, sizeGiB: windows ? 64 : 16 } },
        config: {},
      },
      time,
    );
  }
}

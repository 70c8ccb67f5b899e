import { LabError } from '../errors/lab-error.js';

/** An `sdn` setting that cannot work: a prefix too long or not a PVE id, a pool that is no CIDR, a bad tag range. */
export class SdnSettingsError extends LabError {
  static override readonly code: string = 'LAB_SDN_SETTINGS';
  constructor(facts: { key: string; value: unknown; fix: string }) {
    super(
      SdnSettingsError.code,
      `sdn.${facts.key} ${JSON.stringify(facts.value)} cannot be used: ${facts.fix}.`,
      facts,
    );
  }
}

/** A class network spec that cannot be built (no students in `student` mode, an unknown mode, a bad class id). */
export class SdnSpecError extends LabError {
  static override readonly code: string = 'LAB_SDN_SPEC_INVALID';
  constructor(facts: { classId: string; problem: string }) {
    super(SdnSpecError.code, `The networks of ${facts.classId} cannot be built: ${facts.problem}.`, facts);
  }
}

/** Every subnet of the configured pool is taken by the lab's networks or by another PVE subnet. */
export class SdnPoolExhaustedError extends LabError {
  static override readonly code: string = 'LAB_SDN_POOL_EXHAUSTED';
  constructor(facts: { pool: string; subnetBits: number; needed: number }) {
    super(
      SdnPoolExhaustedError.code,
      `The subnet pool ${facts.pool} has no free /${facts.subnetBits} left for ${facts.needed} more network(s); enlarge sdn.pool or remove the networks of a finished class.`,
      facts,
    );
  }
}

/** Every tag of the configured range is taken in the zone. */
export class SdnTagsExhaustedError extends LabError {
  static override readonly code: string = 'LAB_SDN_TAGS_EXHAUSTED';
  constructor(facts: { zone: string; from: number; to: number }) {
    super(
      SdnTagsExhaustedError.code,
      `No VLAN/VXLAN tag of sdn.tags ${facts.from}-${facts.to} is free in zone ${facts.zone}; widen sdn.tags or remove the networks of a finished class.`,
      facts,
    );
  }
}

/** The zone a class's networks should go into does not exist in PVE, or is of a type the lab does not build on. */
export class SdnZoneMissingError extends LabError {
  static override readonly code: string = 'LAB_SDN_ZONE_MISSING';
  constructor(facts: { zone: string; clusterId: string; type?: string }) {
    super(
      SdnZoneMissingError.code,
      facts.type === undefined
        ? `SDN zone ${facts.zone} does not exist on cluster ${facts.clusterId}; create it in Datacenter → SDN → Zones (a VLAN or VXLAN zone) or name an existing one.`
        : `SDN zone ${facts.zone} on cluster ${facts.clusterId} is a ${facts.type} zone; name a vlan, vxlan or simple zone instead.`,
      facts,
    );
  }
}

/** An SDN object carries the lab's prefix but the store has no record of it: the lab does not touch it. */
export class SdnNotOursError extends LabError {
  static override readonly code: string = 'LAB_SDN_NOT_OURS';
  constructor(facts: { kind: 'zone' | 'vnet'; id: string; clusterId: string }) {
    super(
      SdnNotOursError.code,
      `SDN ${facts.kind} ${facts.id} on cluster ${facts.clusterId} has the lab's prefix but the lab has no record of it, so it is left alone; rename or remove it in PVE, or choose another sdn.prefix.`,
      facts,
    );
  }
}

/** Another live process holds the cluster's SDN lease longer than this one may wait. */
export class SdnBusyError extends LabError {
  static override readonly code: string = 'LAB_SDN_BUSY';
  constructor(facts: { clusterId: string; lease: string }) {
    super(
      SdnBusyError.code,
      `Another lab process is changing the SDN networks of cluster ${facts.clusterId}; try again in a minute (a process that died is taken over once its lease expires).`,
      facts,
    );
  }
}

/** A VM of a class with networks has no applied network to attach to (its student was added after the networks were built). */
export class ClassNetworkMissingError extends LabError {
  static override readonly code: string = 'LAB_SDN_NETWORK_MISSING';
  constructor(facts: { classId: string; student: string | null; state?: string }) {
    const whose =
      facts.student === null
        ? `class ${facts.classId}`
        : facts.student === '@teachers'
          ? `the teacher VMs of ${facts.classId}`
          : `${facts.student} in ${facts.classId}`;
    super(
      ClassNetworkMissingError.code,
      facts.state === undefined
        ? `There is no network for ${whose}; build the class's networks again (they add the missing ones), then deploy.`
        : `The network of ${whose} is ${facts.state}, not applied yet; build the class's networks again to finish it, then deploy.`,
      facts,
    );
  }
}

/** A class asks for private networks (`class` or `student`) but the installation has no `sdn` settings. */
export class SdnNotConfiguredError extends LabError {
  static override readonly code: string = 'LAB_SDN_NOT_CONFIGURED';
  constructor(facts: { classId: string; mode: string; clusterId: string }) {
    super(
      SdnNotConfiguredError.code,
      `${facts.classId} asks for private networks (one per ${facts.mode}) but cluster ${facts.clusterId} has no SDN settings: add an "sdn" section to lab.config.json (e.g. "sdn": { "prefix": "lab" }) or set the class's network back with /class set-lab ${facts.classId} … --network bridge.`,
      facts,
    );
  }
}

/** One node where an applied zone (or one of the lab's VNets in it) is not `available`. */
export interface SdnNodeProblem {
  node: string;
  zone: string;
  /** The zone's status on the node (`pending`, `error`), or `missing` when the node does not list the zone. */
  status: string;
  /** The lab's VNets of the zone that are not available there, with PVE's message. */
  vnets: Array<{ vnet: string; status: string; message: string | null }>;
}

/**
 * `PUT /cluster/sdn` ran, but a node does not have the lab's zone or VNets `available` afterwards
 * (`GET /nodes/{node}/sdn/zones`): its reload failed or did not reach it. The records stay
 * `created`, so no VM is put on these networks, and the next call applies again.
 */
export class SdnApplyFailedError extends LabError {
  static override readonly code: string = 'LAB_SDN_APPLY_FAILED';
  constructor(facts: { clusterId: string; upid: string; problems: SdnNodeProblem[] }) {
    const first = facts.problems[0]!;
    const what = first.vnets.length
      ? first.vnets.map((v) => `VNet ${v.vnet} is ${v.status}${v.message ? ` (${v.message})` : ''}`).join(', ')
      : `zone ${first.zone} is ${first.status}`;
    const more = facts.problems.length > 1 ? ` and ${facts.problems.length - 1} more node/zone pair(s)` : '';
    super(
      SdnApplyFailedError.code,
      `The SDN apply on cluster ${facts.clusterId} did not reach node ${first.node}: ${what}${more}. Read the 'reload network' task log (${facts.upid}) or the node's Network page, fix the node, then deploy again (the networks are applied again; no VM is put on them before that).`,
      facts,
    );
  }
}

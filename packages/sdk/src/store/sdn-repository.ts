import type { EpochMs } from './records.js';

/**
 * Where one SDN object of the lab is in its life: recorded before it is created (`planned`), in
 * PVE's pending configuration (`created`), running after `PUT /cluster/sdn` (`applied`), or being
 * removed (`deleting`). A process that takes over reads these to finish what a dead one started.
 */
export type SdnObjectState = 'planned' | 'created' | 'applied' | 'deleting';

/**
 * One SDN object the lab owns: its own simple zone (`kind: 'zone'`), or the VNet of a class or of
 * one student of a class, with its subnet (`kind: 'vnet'`). The record is the lab's proof of
 * ownership: an object with the lab's prefix but no record is never changed or deleted.
 */
export interface SdnObjectRecord {
  clusterId: string;
  kind: 'zone' | 'vnet';
  /** The PVE id (zone or VNet), at most 8 characters, starting with the configured prefix. */
  objectId: string;
  /** The zone a VNet is in (its own id for a zone). */
  zone: string;
  /** The class of a VNet; null for a zone. */
  classId: string | null;
  /** The student (lab username) of a per-student VNet; null for a class VNet and for a zone. */
  student: string | null;
  /** The subnet of a VNet (`10.200.3.0/24`); null for a zone. Unique per cluster. */
  cidr: string | null;
  /** The subnet's gateway (`10.200.3.1`); null for a zone. */
  gateway: string | null;
  /** The VLAN tag or VXLAN VNI of a VNet in a VLAN/VXLAN zone; unique per zone. */
  tag: number | null;
  /** Whether the subnet masquerades outbound traffic (internet `snat`). */
  snat: boolean;
  /** Whether the subnet hands out addresses by DHCP (simple zones with dnsmasq). */
  dhcp: boolean;
  state: SdnObjectState;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

/** The SDN objects the lab owns, per cluster. */
export interface SdnRepository {
  /** Every record of `clusterId` (of one class with `classId`), zones first, then by id. */
  list(clusterId: string, filter?: { classId?: string }): Promise<SdnObjectRecord[]>;
  get(clusterId: string, objectId: string): Promise<SdnObjectRecord | undefined>;
  /**
   * Records `record` unless it collides with one already there (same id, same class and student,
   * same CIDR in the cluster, same tag in the zone): true when inserted, false on a collision, so two
   * processes never reserve one subnet, tag or id.
   */
  reserve(record: SdnObjectRecord): Promise<boolean>;
  /** Moves a record to `state`; false when there is no such record. */
  setState(clusterId: string, objectId: string, state: SdnObjectState, at: EpochMs): Promise<boolean>;
  /** Removes a record (once its object is gone from PVE); false when there was none. */
  remove(clusterId: string, objectId: string): Promise<boolean>;
}

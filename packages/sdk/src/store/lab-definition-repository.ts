import type { EpochMs } from './records.js';

/** One VM each student of a class gets: `attacker` from `kali-2026`, optionally with its own cores and memory. */
export interface LabRoleRecord {
  /** `[a-z][a-z0-9-]{0,15}`: part of the VM names (`cs101-alice-attacker`) and of a tag (`labrole-attacker`). */
  name: string;
  /** The catalog template the role's VMs are cloned from. */
  template: string;
  /** Cores of the role's VMs; null keeps the template's. */
  cores: number | null;
  /** Memory of the role's VMs in MiB; null keeps the template's. */
  memory: number | null;
}

/**
 * Which network a class's VMs are on: `bridge` (the template's own, as before), one private
 * network for the `class`, or one per `student`; in an admin-named zone (else a simple zone), with
 * or without outbound internet (SNAT). Stored and validated here; the network service acts on it.
 */
export interface LabNetworkChoice {
  mode: 'bridge' | 'class' | 'student';
  /** An admin-named SDN zone (vlan/vxlan); null for a simple zone the lab makes. */
  zone: string | null;
  internet: 'snat' | 'none';
}

/** A class's lab definition: the roles each student gets and the network choice. */
export interface LabDefinitionRecord {
  classId: string;
  /** In the order the teacher gave them; names are unique. */
  roles: LabRoleRecord[];
  network: LabNetworkChoice;
  updatedBy: string;
  updatedAt: EpochMs;
}

/** Lab definitions, one per class (a class without one has one unnamed role: its template). */
export interface LabDefinitionRepository {
  get(classId: string): Promise<LabDefinitionRecord | undefined>;
  /** Every lab definition, by class id. */
  list(): Promise<LabDefinitionRecord[]>;
  /** Inserts or replaces the class's lab definition; an unknown class → `UnknownReferenceError`. */
  save(record: LabDefinitionRecord): Promise<void>;
  /** Forgets the class's lab definition (back to one unnamed role); whether there was one. */
  delete(classId: string): Promise<boolean>;
}

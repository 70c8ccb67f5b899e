import { LabError } from '../errors/lab-error.js';

/** Proxmox cannot snapshot this VM (its storage, or it is a template); `reason` says why. */
export class SnapshotUnsupportedError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_UNSUPPORTED';
  constructor(facts: { vm: string; reason: string }) {
    super(
      SnapshotUnsupportedError.code,
      `${facts.vm} cannot have snapshots: ${facts.reason}. Ask your teacher to deploy the class on such a storage.`,
      facts,
    );
  }
}

/** The VM already has as many snapshots as its class allows. */
export class SnapshotLimitError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_LIMIT';
  constructor(facts: { vm: string; limit: number; names: string[] }) {
    super(
      SnapshotLimitError.code,
      `${facts.vm} has ${facts.names.length} snapshots (${facts.names.join(', ')}), the most its class allows (${facts.limit}); delete one first with /myvm snapshot delete <name>.`,
      facts,
    );
  }
}

/** A snapshot name that is malformed, reserved or already used on the VM. */
export class SnapshotNameError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_NAME';
  constructor(facts: { name: string; reason: string }) {
    super(SnapshotNameError.code, `Snapshot name '${facts.name}' ${facts.reason}.`, facts);
  }
}

/** No snapshot of that name on the VM. */
export class SnapshotNotFoundError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_NOT_FOUND';
  constructor(facts: { vm: string; name: string; names: string[] }) {
    super(
      SnapshotNotFoundError.code,
      `${facts.vm} has no snapshot '${facts.name}'; ${facts.names.length ? `it has ${facts.names.join(', ')}` : 'it has none'}.`,
      facts,
    );
  }
}

/** The storage rolls back only to the newest snapshot, and newer ones exist. */
export class SnapshotNotNewestError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_NOT_NEWEST';
  constructor(facts: { vm: string; name: string; newer: string[]; storage: string }) {
    super(
      SnapshotNotNewestError.code,
      `${facts.vm} is on storage ${facts.storage}, which goes back only to the newest snapshot; delete ${facts.newer.join(', ')} first, then restore '${facts.name}'.`,
      facts,
    );
  }
}

/** A student tried to delete a snapshot a teacher took (kept for the class, e.g. before an exam). */
export class SnapshotProtectedError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_PROTECTED';
  constructor(facts: { vm: string; name: string; takenBy: string }) {
    super(
      SnapshotProtectedError.code,
      `Snapshot '${facts.name}' of ${facts.vm} was taken by ${facts.takenBy} for the class; only a teacher can delete it (/lab snapshot <class> delete ${facts.name}).`,
      facts,
    );
  }
}

/** Another snapshot action on the VM (a snapshot, restore or delete) is still under way. */
export class SnapshotBusyError extends LabError {
  static override readonly code: string = 'LAB_SNAPSHOT_BUSY';
  constructor(facts: { vm: string; holder?: string | undefined }) {
    super(
      SnapshotBusyError.code,
      `Another snapshot, restore or delete of ${facts.vm} is still under way; try again in a minute.`,
      facts,
    );
  }
}

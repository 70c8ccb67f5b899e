import type { EpochMs } from './records.js';

/**
 * The end of a class's term: the last day it runs, how long its VMs are kept after it, who
 * confirmed their destruction, and whether the class is archived.
 */
export interface ClassTermRecord {
  classId: string;
  /** The class's last day (`YYYY-MM-DD` in `timezone`); null once cleared. */
  endsOn: string | null;
  /** The IANA time zone `endsOn` is read in. */
  timezone: string;
  /** Days after the end before the class's VMs may be destroyed (once confirmed). */
  graceDays: number;
  /** The lab username who confirmed destroying the class's VMs; null until someone does. */
  destroyConfirmedBy: string | null;
  destroyConfirmedAt: EpochMs | null;
  /** When the class was archived (roster, usage and audit kept, hidden from active lists); null while active. */
  archivedAt: EpochMs | null;
}

/** Class end dates and archive marks. */
export interface ClassTermRepository {
  get(classId: string): Promise<ClassTermRecord | undefined>;
  /** Every class's term, by class id. */
  list(): Promise<ClassTermRecord[]>;
  /** Inserts or replaces the class's term; an unknown class → `UnknownReferenceError`. */
  save(record: ClassTermRecord): Promise<void>;
}

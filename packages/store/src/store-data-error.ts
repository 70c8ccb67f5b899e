import { LabError } from '@lab/proxmox-sdk';

/**
 * A row or a stored JSON value does not have the shape the store wrote (an unknown status, JSON
 * that does not parse): the database was changed by hand or by another program.
 */
export class StoreDataError extends LabError {
  static override readonly code: string = 'LAB_STORE_CORRUPT_DATA';
  constructor(facts: { what: string; problem: string }, options?: { cause?: unknown }) {
    super(
      StoreDataError.code,
      `the store holds a ${facts.what} it cannot read (${facts.problem}); fix that row by hand or restore the database from a backup`,
      facts,
      options,
    );
  }
}

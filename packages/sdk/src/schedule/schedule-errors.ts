import { LabError } from '../errors/lab-error.js';

/** A schedule, duration or date the scheduler cannot read. */
export class InvalidScheduleError extends LabError {
  static override readonly brand: string = '@lab/InvalidScheduleError';
  static override readonly code: string = 'LAB_INVALID_SCHEDULE';
  constructor(facts: { input: string; reason: string }, options?: { cause?: unknown }) {
    super(InvalidScheduleError.code, `the schedule '${facts.input}' cannot be used: ${facts.reason}`, facts, options);
  }
}

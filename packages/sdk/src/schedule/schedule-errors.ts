import { LabError } from '../errors/lab-error.js';

/** A schedule, duration or date the scheduler cannot read. */
export class InvalidScheduleError extends LabError {
  static override readonly brand: string = '@lab/InvalidScheduleError';
  constructor(facts: { input: string; reason: string }, options?: { cause?: unknown }) {
    super('LAB_INVALID_SCHEDULE', `the schedule '${facts.input}' cannot be used: ${facts.reason}`, facts, options);
  }
}

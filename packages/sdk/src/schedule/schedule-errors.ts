import { LabError } from '../errors/lab-error.js';

/** A schedule, duration or date the scheduler cannot read. */
export class InvalidScheduleError extends LabError {
  static override readonly code: string = 'LAB_INVALID_SCHEDULE';
  constructor(facts: { input: string; reason: string }, options?: { cause?: unknown }) {
    super(InvalidScheduleError.code, `the schedule '${facts.input}' cannot be used: ${facts.reason}`, facts, options);
  }
}

/** A start waited for its class's start lock longer than it may: another start holds it. */
export class ClassStartLockBusyError extends LabError {
  static override readonly code: string = 'LAB_START_LOCK_BUSY';
  constructor(facts: { classId: string; holder: string | undefined; waitedMs: number }) {
    super(
      ClassStartLockBusyError.code,
      `Another start of class ${facts.classId} held its start lock for the ${Math.round(facts.waitedMs / 1000)} s this start waited${facts.holder ? ` (held by ${facts.holder})` : ''}; try again in a minute.`,
      facts,
    );
  }
}

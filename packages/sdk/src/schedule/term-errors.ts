import { LabError } from '../errors/lab-error.js';

/** A student's start of a VM of a class whose term has ended. */
export class ClassEndedError extends LabError {
  static override readonly code: string = 'LAB_CLASS_ENDED';
  constructor(facts: { classId: string; endedOn: string }) {
    super(
      ClassEndedError.code,
      `${facts.classId} ended on ${facts.endedOn}, so its VMs cannot be started any more; ask your teacher if you still need something from yours.`,
      facts,
    );
  }
}

/** Destroying a class's VMs asked for before its term and grace period are over. */
export class TermNotOverError extends LabError {
  static override readonly code: string = 'LAB_TERM_NOT_OVER';
  constructor(facts: { classId: string; reason: string }) {
    super(TermNotOverError.code, `The VMs of ${facts.classId} cannot be destroyed yet: ${facts.reason}.`, facts);
  }
}

/** Archiving a class that still has VMs. */
export class ClassHasVmsError extends LabError {
  static override readonly code: string = 'LAB_CLASS_HAS_VMS';
  constructor(facts: { classId: string; vms: string[]; next: string }) {
    super(
      ClassHasVmsError.code,
      `${facts.classId} still has ${facts.vms.length} VM(s) (${facts.vms.slice(0, 5).join(', ')}${facts.vms.length > 5 ? ', …' : ''}); ${facts.next}, then archive it.`,
      facts,
    );
  }
}

/** A deployment asked for a class that has ended or is archived. */
export class ClassClosedError extends LabError {
  static override readonly brand: string = '@lab/ClassClosedError';
  static override readonly code: string = 'LAB_CLASS_CLOSED';
  constructor(facts: { classId: string; endedOn: string | null; archived: boolean }) {
    super(
      ClassClosedError.code,
      facts.archived
        ? `${facts.classId} is archived: its term is over and its VMs are gone. Create a new class for a new term.`
        : `${facts.classId} ended on ${facts.endedOn}, so no VMs are deployed for it any more; give it a later end date with class set-end ${facts.classId} <YYYY-MM-DD> (or none) first.`,
      facts,
    );
  }
}

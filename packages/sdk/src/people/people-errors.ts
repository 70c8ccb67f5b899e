import { LabError } from '../errors/lab-error.js';

/** No lab person has this username. */
export class UnknownPersonError extends LabError {
  static override readonly code: string = 'LAB_UNKNOWN_PERSON';
  constructor(username: string) {
    super(UnknownPersonError.code, `no lab user '${username}'; check the spelling or add them with people add`, {
      username,
    });
  }
}

/** No class has this id. */
export class UnknownClassError extends LabError {
  static override readonly code: string = 'LAB_UNKNOWN_CLASS';
  constructor(classId: string, known: readonly string[] = []) {
    super(
      UnknownClassError.code,
      `no class '${classId}'${known.length ? `; classes: ${known.join(', ')}` : '; create it first with class create'}`,
      { classId, known },
    );
  }
}

/** A person still owns VMs and would leave them without an owner. */
export class PersonOwnsVmsError extends LabError {
  static override readonly code: string = 'LAB_PERSON_OWNS_VMS';
  constructor(username: string, vmids: readonly number[]) {
    super(
      PersonOwnsVmsError.code,
      `${username} still owns ${vmids.length} VM(s) (${vmids.join(', ')}); destroy them first or remove with --force to keep them without an owner`,
      { username, vmids },
    );
  }
}

/** A chat account or mention that is not a usable user id. */
export class InvalidChatAccountError extends LabError {
  static override readonly code: string = 'LAB_INVALID_CHAT_ACCOUNT';
  /** `format`: the platform's identity format, for a sample to type (Slack's or Discord's when absent). */
  constructor(
    platform: string,
    given: string,
    format?: { label: string; example: string; display(id: string): string },
  ) {
    const sample = format
      ? format.display(format.example)
      : platform === 'slack'
        ? '<@U0123ABCD>'
        : '<@123456789012345678>';
    super(
      InvalidChatAccountError.code,
      `'${given}' is not a ${platform} user id; mention the user so it becomes a link (${sample}) or give their id`,
      { platform, given },
    );
  }
}

/**
 * An invite code that does not work. Unknown, expired and used-up codes get the same answer, so a
 * guesser learns nothing from it.
 */
export class InvalidInviteError extends LabError {
  static override readonly code: string = 'LAB_INVITE_INVALID';
  constructor() {
    super(
      InvalidInviteError.code,
      'That invite code does not work: it may be mistyped, expired or used up. Check it, or ask your teacher for a new one.',
    );
  }
}

/** Too many wrong invite codes from one chat account in a short time. */
export class TooManyInviteAttemptsError extends LabError {
  static override readonly code: string = 'LAB_INVITE_RATE_LIMITED';
  constructor(facts: { account: string; failures: number; windowMs: number }) {
    super(
      TooManyInviteAttemptsError.code,
      `Too many wrong invite codes; wait ${Math.ceil(facts.windowMs / 60_000)} minutes and try again.`,
      facts,
    );
  }
}

/** Joining needs more from the student (which roster name is theirs, or another username). */
export class JoinNeedsUsernameError extends LabError {
  static override readonly code: string = 'LAB_JOIN_NEEDS_USERNAME';
  constructor(classId: string, problem: 'which' | 'not-on-roster' | 'taken' | 'invalid' | 'linked', username?: string) {
    const message =
      problem === 'linked'
        ? `'${username}' already has a chat account, so an invite code cannot claim that name; if it is yours, ask your teacher to link this account to it too.`
        : problem === 'which'
          ? `Say which student of ${classId} you are: run join again with your code and your username (as your teacher gave it).`
          : problem === 'not-on-roster'
            ? `'${username}' is not a student of ${classId} waiting to join; check the spelling of your username or ask your teacher.`
            : problem === 'invalid'
              ? `'${username}' cannot be a username: use 2–32 lower-case letters, digits, dots, dashes or underscores, starting with a letter.`
              : `The username '${username}' is taken; pick another one.`;
    super(JoinNeedsUsernameError.code, message, { classId, problem, ...(username ? { username } : {}) });
  }
}

/** No join request has this id (or it was decided already, or expired). */
export class JoinRequestNotPendingError extends LabError {
  static override readonly code: string = 'LAB_JOIN_REQUEST_NOT_PENDING';
  constructor(id: string, status: string | undefined) {
    super(
      JoinRequestNotPendingError.code,
      status === undefined
        ? `No join request '${id}'; people requests lists the pending ones.`
        : `Join request '${id}' is ${status === 'pending' ? 'expired' : `already ${status}`}; nothing was changed.`,
      { id, status },
    );
  }
}

/** A chat account to unlink is not linked (or not to that person). */
export class NotLinkedError extends LabError {
  static override readonly code: string = 'LAB_NOT_LINKED';
  constructor(username: string, platform: string) {
    super(NotLinkedError.code, `${username} has no ${platform} account linked; there is nothing to unlink.`, {
      username,
      platform,
    });
  }
}

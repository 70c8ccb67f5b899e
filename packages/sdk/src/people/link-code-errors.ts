import { LabError } from '../errors/lab-error.js';

/** A link code that does not work: unknown, mistyped, expired or used (one answer for all). */
export class InvalidLinkCodeError extends LabError {
  static override readonly code: string = 'LAB_LINK_CODE_INVALID';
  constructor() {
    super(
      InvalidLinkCodeError.code,
      'That link code does not work: it may be mistyped, expired or used already. Open Link my chat account on the lab portal for a new one.',
    );
  }
}

/** Too many wrong link codes from one chat account in a short time. */
export class TooManyLinkAttemptsError extends LabError {
  static override readonly code: string = 'LAB_LINK_CODE_RATE_LIMITED';
  constructor(facts: { account: string; failures: number; windowMs: number }) {
    super(
      TooManyLinkAttemptsError.code,
      `Too many wrong link codes; wait ${Math.ceil(facts.windowMs / 60_000)} minutes and try again.`,
      facts,
    );
  }
}

/** A link code was asked for from a chat account, which is what the code is meant to prove. */
export class LinkCodeFromChatError extends LabError {
  static override readonly code: string = 'LAB_LINK_CODE_FROM_CHAT';
  constructor(platform: string) {
    super(
      LinkCodeFromChatError.code,
      `A link code comes from the lab portal, where you sign in with your school account, not from ${platform}; open Link my chat account there.`,
      { platform },
    );
  }
}

import { LabError } from '@lab/proxmox-sdk';

/** Why a sign-in was refused; each reason is audited as it is. */
export type SignInRefusal =
  | 'no-login-started'
  | 'wrong-state'
  | 'login-expired-or-used'
  | 'provider-error'
  | 'token-rejected'
  | 'missing-claim'
  | 'email-not-verified'
  | 'identity-taken';

const REFUSAL_SENTENCES: Record<SignInRefusal, string> = {
  'no-login-started': 'this browser did not start a sign-in here',
  'wrong-state': 'the answer from the sign-in page does not belong to the sign-in this browser started',
  'login-expired-or-used': 'this sign-in was already used or took too long',
  'provider-error': 'the sign-in provider refused it',
  'token-rejected': "the sign-in provider's answer did not check out",
  'missing-claim': 'the sign-in provider did not say who you are',
  'email-not-verified': 'the sign-in provider has not verified your email address',
  'identity-taken': 'this account is already linked to another lab person; ask an admin',
};

/** A sign-in (the OpenID callback) that did not complete; the browser is told to start again. */
export class WebSignInRefusedError extends LabError {
  static override readonly code: string = 'LAB_WEB_SIGN_IN_REFUSED';
  constructor(
    readonly reason: SignInRefusal,
    facts: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(
      WebSignInRefusedError.code,
      `Sign-in did not complete: ${REFUSAL_SENTENCES[reason]}. Go back to the start page and sign in again.`,
      { reason, ...facts },
      options,
    );
  }
}

/** A signed-in identity that maps to no lab person. */
export class WebUnknownPersonError extends LabError {
  static override readonly code: string = 'LAB_WEB_UNKNOWN_PERSON';
  constructor(facts: { mapBy: 'username' | 'email'; value: string }) {
    super(
      WebUnknownPersonError.code,
      `You signed in as ${facts.value}, but the lab does not know you yet. Ask your teacher to add you to the lab.`,
      facts,
    );
  }
}

/** A state-changing request without the session's CSRF token or from another origin. */
export class WebRequestRefusedError extends LabError {
  static override readonly code: string = 'LAB_WEB_REQUEST_REFUSED';
  constructor(readonly reason: 'origin' | 'csrf' | 'signed-out') {
    super(
      WebRequestRefusedError.code,
      reason === 'signed-out'
        ? 'You are not signed in (or your session ended); sign in again, then repeat what you did.'
        : "This form was not sent from the lab's own page; reload the page and try again.",
      { reason },
    );
  }
}

/** The OpenID provider's discovery document could not be read. */
export class WebProviderUnavailableError extends LabError {
  static override readonly code: string = 'LAB_WEB_PROVIDER_UNAVAILABLE';
  constructor(issuer: string, options?: { cause?: unknown }) {
    super(
      WebProviderUnavailableError.code,
      `The school's sign-in provider (${issuer}) does not answer; try again in a minute, or tell an admin if it persists.`,
      { issuer },
      options,
    );
  }
}

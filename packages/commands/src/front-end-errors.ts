import { LabError } from '@lab/proxmox-sdk';

/** No front end with this id is registered. */
export class UnknownFrontEndError extends LabError {
  static override readonly code: string = 'LAB_UNKNOWN_FRONT_END';
  constructor(id: string, registered: readonly string[]) {
    super(
      UnknownFrontEndError.code,
      `There is no front end '${id.slice(0, 40)}'; use one of ${registered.join(', ') || '(none registered)'}.`,
      { id: id.slice(0, 40), registered },
    );
  }
}

/** A front end that cannot be registered: a taken or malformed id, or an identity format of another platform. */
export class FrontEndRegistrationError extends LabError {
  static override readonly code: string = 'LAB_FRONT_END_REGISTRATION';
  constructor(id: string, reason: string) {
    super(FrontEndRegistrationError.code, `Cannot register the front end '${id.slice(0, 40)}': ${reason}.`, {
      id: id.slice(0, 40),
      reason,
    });
  }
}

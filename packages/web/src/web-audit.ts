import type { Clock, Store } from '@lab/proxmox-sdk';

/** One portal event for the audit log (sign-ins, refused requests); commands audit themselves in the router. */
export interface WebAuditEvent {
  /** `web.sign-in`, `web.sign-out`, `web.request`. */
  action: string;
  /** The lab username when known, else the identity (`web:<issuer>#<sub>`), else `web:anonymous`. */
  actor: string;
  target: string;
  outcome: 'ok' | 'denied' | 'failed';
  details: Record<string, unknown>;
}

/** Writes portal events to the audit log. */
export function webAuditor(store: Store, clock: Clock): (event: WebAuditEvent) => Promise<void> {
  return (event) => store.audit.record({ at: clock.now(), ...event });
}

/** The actor id of an OpenID identity, as commands record it: `web:<issuer>#<sub>`. */
export function webActorId(issuer: string, subject: string): string {
  return `web:${issuer}#${subject}`;
}

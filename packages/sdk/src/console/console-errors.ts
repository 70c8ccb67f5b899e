import { LabError } from '../errors/lab-error.js';

/** No console link has this token (mistyped, or from another lab). */
export class ConsoleLinkUnknownError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_LINK_UNKNOWN';
  constructor() {
    super(ConsoleLinkUnknownError.code, 'This console link is not valid; ask for a new one with /myvm console.');
  }
}

/** The link was not opened in time. */
export class ConsoleLinkExpiredError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_LINK_EXPIRED';
  constructor(facts: { clusterId: string; vmid: number; expiredAt: number }) {
    super(
      ConsoleLinkExpiredError.code,
      'This console link has expired; ask for a new one with /myvm console and open it within a minute.',
      facts,
    );
  }
}

/** The link was opened already; links open once. */
export class ConsoleLinkUsedError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_LINK_USED';
  constructor(facts: { clusterId: string; vmid: number; usedAt: number | null }) {
    super(
      ConsoleLinkUsedError.code,
      'This console link was already opened; each link opens once, so ask for a new one with /myvm console.',
      facts,
    );
  }
}

/** A console session was used for a VM other than the one its link was made for. */
export class ConsoleWrongVmError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_WRONG_VM';
  constructor(facts: { clusterId: string; vmid: number; askedClusterId: string; askedVmid: number }) {
    super(
      ConsoleWrongVmError.code,
      `This console session is for VM ${facts.vmid}, not VM ${facts.askedVmid}; ask for a link to that VM with /myvm console ${facts.askedVmid}.`,
      facts,
    );
  }
}

/** The person the link was made for may no longer open this VM (it was reassigned, or they left the class). */
export class ConsoleNotYoursError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_NOT_YOURS';
  constructor(facts: { username: string; clusterId: string; vmid: number; reason: string }) {
    super(
      ConsoleNotYoursError.code,
      `${facts.username} may no longer open the console of VM ${facts.vmid} (${facts.reason}); ask your teacher if that is wrong.`,
      facts,
    );
  }
}

/** The page's console session is unknown, taken already or expired (the page was reloaded or left open too long). */
export class ConsoleSessionUnknownError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_SESSION_UNKNOWN';
  constructor() {
    super(
      ConsoleSessionUnknownError.code,
      'This console page has expired or was already connected; ask for a new link with /myvm console.',
    );
  }
}

/** The VM is not running, so it has no console to show. */
export class ConsoleVmNotRunningError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_VM_NOT_RUNNING';
  constructor(facts: { clusterId: string; vmid: number; name: string; status: string }) {
    super(
      ConsoleVmNotRunningError.code,
      `${facts.name} is ${facts.status}; start it with /myvm start, then ask for a console link.`,
      facts,
    );
  }
}

/** The VNC conversation with Proxmox failed (unexpected bytes, refused password, closed early). */
export class VncHandshakeError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_VNC_HANDSHAKE';
  constructor(detail: string, facts: Record<string, unknown> = {}) {
    super(
      VncHandshakeError.code,
      `The VM's console did not answer as expected (${detail}); try again, and if it keeps failing tell your lab admin.`,
      { detail, ...facts },
    );
  }
}

/** `console.publicUrl` is not configured, so no console link can be made. */
export class ConsoleNotConfiguredError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_NOT_CONFIGURED';
  constructor() {
    super(
      ConsoleNotConfiguredError.code,
      "The browser console is not set up here; an admin must set console.publicUrl in lab.config.json (the bot's public HTTPS address).",
      { key: 'console.publicUrl' },
    );
  }
}

/** A console session would go over one of the lab's caps (per person, per VM, per node). */
export class ConsoleBusyError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_BUSY';
  constructor(facts: { limit: 'person' | 'vm' | 'node'; max: number; vmid: number; node?: string }) {
    super(
      ConsoleBusyError.code,
      facts.limit === 'person'
        ? `You have ${facts.max} console${facts.max === 1 ? '' : 's'} open already, as many as the lab allows; close one and ask for a new link.`
        : facts.limit === 'vm'
          ? `VM ${facts.vmid} has ${facts.max} console${facts.max === 1 ? '' : 's'} open already, as many as the lab allows; close one and ask for a new link.`
          : `Node ${facts.node ?? '?'} has ${facts.max} consoles open, as many as the lab allows (VNC ports are shared with Proxmox's own console); try again in a few minutes.`,
      facts,
    );
  }
}

/** Too many console links asked for by one person in a short time. */
export class ConsoleRateLimitedError extends LabError {
  static override readonly code: string = 'LAB_CONSOLE_RATE_LIMITED';
  constructor(facts: { perMinute: number }) {
    super(
      ConsoleRateLimitedError.code,
      `You asked for ${facts.perMinute} console links in the last minute, as many as the lab allows; wait a minute and ask again.`,
      facts,
    );
  }
}

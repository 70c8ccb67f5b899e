import { LabError } from '../errors/lab-error.js';

/** Why the guest agent cannot set a password now: none configured, the VM is stopped, or it does not answer. */
export type AgentUnavailableReason = 'no-agent' | 'stopped' | 'not-running';

const INSTEAD =
  'reset it from inside instead: log in on the console (/myvm console) and run passwd, or add an SSH key (/myvm sshkey add) and reset the VM (/myvm reset) to log in with the key';

/** The VM's guest agent cannot set a password; the message says how to reset it instead. */
export class GuestAgentUnavailableError extends LabError {
  static override readonly code: string = 'LAB_GUEST_AGENT_UNAVAILABLE';
  readonly reason: AgentUnavailableReason;
  constructor(facts: { vm: string; reason: AgentUnavailableReason }) {
    const text =
      facts.reason === 'stopped'
        ? `${facts.vm} is stopped; start it (/myvm start), wait until it has booted, then ask for a new password again.`
        : facts.reason === 'no-agent'
          ? `${facts.vm} has no QEMU guest agent, so the lab cannot set a password in it; ${INSTEAD}. Your teacher can turn the agent on in the class template (qm set <vmid> --agent 1, with qemu-guest-agent installed inside).`
          : `The guest agent of ${facts.vm} does not answer (still booting, or qemu-guest-agent is not installed or running inside); try again in a minute, or ${INSTEAD}.`;
    super(GuestAgentUnavailableError.code, text, facts);
    this.reason = facts.reason;
  }
}

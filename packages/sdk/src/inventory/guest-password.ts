import { randomInt } from 'node:crypto';
import { PveHttpError } from '../errors/pve-errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { GuestAgentUnavailableError, type AgentUnavailableReason } from './guest-password-errors.js';
import { NotAllowedError, UnknownVmError } from './inventory-errors.js';
import { denialReason, type Viewer } from './viewer.js';

/** What `GuestPasswords` needs. */
export interface GuestPasswordsDeps {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
}

/** Letters and digits no one mixes up when typing from a screen (no 0/O, 1/l/I). */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A new random password: four groups of five characters (about 116 bits), e.g. `k3Hq9-…`. */
export function randomGuestPassword(): string {
  const group = () => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return [group(), group(), group(), group()].join('-');
}

const AGENT_ERRORS: ReadonlyArray<[RegExp, AgentUnavailableReason]> = [
  [/No QEMU guest agent configured/, 'no-agent'],
  [/guest agent is not running/, 'not-running'],
  [/VM \d+ is not running/, 'stopped'],
];

/**
 * New passwords for the login user of a VM (the class's login user, or else its owner's lab
 * username, as cloud-init set it up), set inside the guest through the QEMU guest agent
 * (`agent/set-user-password`). The password is returned once to the caller and is never stored,
 * logged or audited; the audit entry (`password.reset`) names only the user.
 */
export class GuestPasswords {
  readonly #store: Store;
  readonly #clusters: ClusterApis;
  readonly #clock: Clock;

  constructor(deps: GuestPasswordsDeps) {
    checkOptions('new GuestPasswords', deps, STORE_AND_CLUSTERS, PORT_HINTS);
    this.#store = deps.store;
    this.#clusters = deps.clusters;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * Sets a new random password for the VM's login user. Refused with `GuestAgentUnavailableError`
   * (which says how to reset it instead) where there is no agent, the VM is stopped or its agent
   * does not answer.
   */
  async reset(viewer: Viewer, clusterId: string, vmid: number): Promise<{ username: string; password: string }> {
    const row = await this.#store.inventory.get(clusterId, vmid);
    if (!row || row.goneAt !== null) throw new UnknownVmError(clusterId, vmid);
    const target = `${clusterId}/${vmid}`;
    const audit = (outcome: 'ok' | 'denied' | 'failed', details: Record<string, unknown>) =>
      this.#store.audit.record({
        at: this.#clock.now(),
        actor: viewer.username,
        action: 'password.reset',
        target,
        outcome,
        details,
      });
    const assignment = await this.#store.classes.assignment(clusterId, vmid);
    const denied = await denialReason(this.#store, viewer, assignment);
    if (denied) {
      await audit('denied', { reason: denied });
      throw new NotAllowedError({
        actor: viewer.username,
        action: 'reset the password of',
        target: `VM ${vmid} (${row.name})`,
        reason: denied,
      });
    }
    const settings = assignment?.classId ? await this.#store.classLifecycle.settings(assignment.classId) : undefined;
    const owner = assignment?.personId == null ? undefined : await this.#store.classes.getPerson(assignment.personId);
    const username = settings?.loginUser ?? owner?.username ?? viewer.username;
    const password = randomGuestPassword();
    try {
      await pveResources(this.#clusters.get(clusterId)).qemu(row.node, vmid).setUserPassword({ username, password });
    } catch (error) {
      const reason =
        error instanceof PveHttpError
          ? AGENT_ERRORS.find(([pattern]) => pattern.test(error.pveMessage))?.[1]
          : undefined;
      if (reason) {
        await audit('denied', { username, reason });
        throw new GuestAgentUnavailableError({ vm: row.name, reason });
      }
      await audit('failed', { username, error: (error as Error).message });
      throw error;
    }
    await audit('ok', { username, node: row.node });
    return { username, password };
  }
}

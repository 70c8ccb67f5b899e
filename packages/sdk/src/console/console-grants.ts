import { NotAllowedError } from '../inventory/inventory-errors.js';
import { denialReason, type Viewer } from '../inventory/viewer.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ConsoleGrantRecord } from '../store/console-grant-repository.js';
import type { PersonRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import {
  ConsoleLinkExpiredError,
  ConsoleLinkUnknownError,
  ConsoleLinkUsedError,
  ConsoleNotYoursError,
  ConsoleSessionUnknownError,
  ConsoleWrongVmError,
} from './console-errors.js';
import { generateConsoleToken, hashConsoleToken, isConsoleToken } from './console-token.js';
import { auditConsole } from './console-audit.js';
import { checkOptions, PORT_HINTS } from '../util/constructor-options.js';
import { ConsoleSessionLimits, type ConsoleLimits, type HeldConsoleSlots } from './console-limits.js';

/** Defaults of console links and sessions, in one place. */
export const DefaultConsoleOptions = {
  /** How long a link may wait to be opened. */
  linkTtlMs: 60_000,
  /** How long a console session may last. */
  sessionMaxMs: 30 * 60_000,
  /** How long an opened page may take to connect its WebSocket. */
  pageSessionTtlMs: 60_000,
  /** How often an open session checks the VM's state and the person's access. */
  watchIntervalMs: 5_000,
} as const satisfies Record<string, number>;

/** Who asks for a console link: a lab person, through one chat account. */
export interface ConsoleRequester {
  viewer: Viewer;
  platform: string;
  platformUserId: string;
}

/** A new link's token (shown once, never stored) and its grant. */
export interface IssuedConsoleLink {
  token: string;
  grant: ConsoleGrantRecord;
}

/** A grant with the person it was made for. */
export interface ConsoleGrant extends ConsoleGrantRecord {
  person: PersonRecord;
}

/** What `ConsoleGrants` needs. */
export interface ConsoleGrantsDeps {
  store: Store;
  clock?: Clock;
  /** @defaultValue `DefaultConsoleOptions.linkTtlMs` */
  linkTtlMs?: number;
  /** @defaultValue `DefaultConsoleOptions.sessionMaxMs` */
  sessionMaxMs?: number;
  /** @defaultValue `DefaultConsoleOptions.pageSessionTtlMs` */
  pageSessionTtlMs?: number;
  /** Caps of open sessions (per person, VM and node) and of links per person. @defaultValue `DefaultConsoleLimits` */
  limits?: Partial<ConsoleLimits>;
}

const sessionKey = (sessionId: string) => `console-session:${hashConsoleToken(sessionId)}`;

/**
 * One-time console links. `issue` makes a link for a person and a VM they may open (their own;
 * their students' for a teacher; any for an admin). `openLink` redeems it once and hands out a
 * page session id; `attach` takes that id once, for the page's WebSocket. Access is checked again
 * at every step, against the store as it is then.
 */
export class ConsoleGrants {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly linkTtlMs: number;
  readonly sessionMaxMs: number;
  readonly #pageSessionTtlMs: number;
  /** The session and link caps, counted in the store across processes. */
  readonly limits: ConsoleSessionLimits;

  constructor(deps: ConsoleGrantsDeps) {
    checkOptions('new ConsoleGrants', deps, { store: 'object', clock: 'object?' }, PORT_HINTS);
    this.#store = deps.store;
    this.#clock = deps.clock ?? systemClock;
    this.linkTtlMs = deps.linkTtlMs ?? DefaultConsoleOptions.linkTtlMs;
    this.sessionMaxMs = deps.sessionMaxMs ?? DefaultConsoleOptions.sessionMaxMs;
    this.#pageSessionTtlMs = deps.pageSessionTtlMs ?? DefaultConsoleOptions.pageSessionTtlMs;
    this.limits = new ConsoleSessionLimits({
      store: this.#store,
      clock: this.#clock,
      ...(deps.limits ? { limits: deps.limits } : {}),
    });
  }

  /**
   * Takes the grant's place under the session caps for as long as its session runs (release it
   * when the session ends); `ConsoleBusyError` when a cap is reached.
   */
  async holdSession(grant: ConsoleGrantRecord): Promise<HeldConsoleSlots> {
    return this.limits.take(grant.personId, await this.#placed(grant));
  }

  /** `ConsoleBusyError` when a session of the grant would go over a cap now. */
  async checkSession(grant: ConsoleGrantRecord): Promise<void> {
    await this.limits.check(grant.personId, await this.#placed(grant));
  }

  async #placed(vm: { clusterId: string; vmid: number }): Promise<{ clusterId: string; vmid: number; node: string }> {
    const row = await this.#store.inventory.get(vm.clusterId, vm.vmid);
    return { clusterId: vm.clusterId, vmid: vm.vmid, node: row?.node ?? 'unknown' };
  }

  /** Makes a link to the console of `vm` for `requester`; `NotAllowedError` when they may not open it. */
  async issue(requester: ConsoleRequester, vm: { clusterId: string; vmid: number }): Promise<IssuedConsoleLink> {
    const { viewer } = requester;
    const reason =
      viewer.personId === null
        ? 'you are not a lab member yet'
        : await denialReason(this.#store, viewer, await this.#store.classes.assignment(vm.clusterId, vm.vmid));
    if (reason !== undefined || viewer.personId === null)
      throw new NotAllowedError({
        actor: viewer.username,
        action: 'open the console of',
        target: `VM ${vm.vmid}`,
        reason: reason ?? '',
      });
    // A refused link says why: too many links lately, or a cap already reached.
    await this.limits.countLink(viewer.personId);
    await this.limits.check(viewer.personId, await this.#placed(vm));
    const now = this.#clock.now();
    await this.#store.consoleGrants.prune(now - 24 * 60 * 60_000);
    const token = generateConsoleToken();
    const grant: Omit<ConsoleGrantRecord, 'usedAt'> = {
      tokenHash: hashConsoleToken(token),
      personId: viewer.personId,
      clusterId: vm.clusterId,
      vmid: vm.vmid,
      platform: requester.platform,
      platformUserId: requester.platformUserId,
      createdAt: now,
      expiresAt: now + this.linkTtlMs,
      sessionMaxMs: this.sessionMaxMs,
    };
    await this.#store.consoleGrants.create(grant);
    return { token, grant: { ...grant, usedAt: null } };
  }

  /**
   * Redeems the link `token` (once: a second call gets `ConsoleLinkUsedError`) and returns a fresh
   * page session id for its WebSocket, valid for `pageSessionTtlMs` and one connection.
   */
  async openLink(token: string): Promise<{ sessionId: string; grant: ConsoleGrant }> {
    if (!isConsoleToken(token)) throw new ConsoleLinkUnknownError();
    const now = this.#clock.now();
    const result = await this.#store.consoleGrants.redeem(hashConsoleToken(token), now);
    if (result.outcome === 'unknown') throw new ConsoleLinkUnknownError();
    if (result.outcome !== 'ok')
      await this.#auditRefused(
        result.grant,
        result.outcome === 'used' ? 'the link was opened already' : 'the link expired',
      );
    if (result.outcome === 'used')
      throw new ConsoleLinkUsedError({
        clusterId: result.grant.clusterId,
        vmid: result.grant.vmid,
        usedAt: result.grant.usedAt,
      });
    if (result.outcome === 'expired')
      throw new ConsoleLinkExpiredError({
        clusterId: result.grant.clusterId,
        vmid: result.grant.vmid,
        expiredAt: result.grant.expiresAt,
      });
    const grant = await this.#withAccess(result.grant);
    const sessionId = generateConsoleToken();
    await this.#store.nonces.put(
      sessionKey(sessionId),
      { tokenHash: grant.tokenHash },
      now + this.#pageSessionTtlMs,
      now,
    );
    return { sessionId, grant };
  }

  /** Takes the page session `sessionId` (once) for a WebSocket to `vm`; the grant it belongs to. */
  async attach(sessionId: string, vm: { clusterId: string; vmid: number }): Promise<ConsoleGrant> {
    if (!isConsoleToken(sessionId)) throw new ConsoleSessionUnknownError();
    const payload = (await this.#store.nonces.take(sessionKey(sessionId), this.#clock.now())) as
      { tokenHash?: unknown } | undefined;
    const record =
      typeof payload?.tokenHash === 'string' ? await this.#store.consoleGrants.get(payload.tokenHash) : undefined;
    if (!record) throw new ConsoleSessionUnknownError();
    if (record.clusterId !== vm.clusterId || record.vmid !== vm.vmid) {
      await this.#auditRefused(record, `wrong VM (asked for ${vm.clusterId}/${vm.vmid})`);
      throw new ConsoleWrongVmError({
        clusterId: record.clusterId,
        vmid: record.vmid,
        askedClusterId: vm.clusterId,
        askedVmid: vm.vmid,
      });
    }
    return this.#withAccess(record);
  }

  /** Why the grant's person may no longer open its VM, or undefined while they may. */
  async accessProblem(grant: ConsoleGrantRecord): Promise<string | undefined> {
    const person = await this.#store.classes.getPerson(grant.personId);
    if (!person) return 'the person was removed from the lab';
    return denialReason(
      this.#store,
      { personId: person.id, username: person.username, role: person.role },
      await this.#store.classes.assignment(grant.clusterId, grant.vmid),
    );
  }

  async #withAccess(record: ConsoleGrantRecord): Promise<ConsoleGrant> {
    const person = await this.#store.classes.getPerson(record.personId);
    const reason = person
      ? await denialReason(
          this.#store,
          { personId: person.id, username: person.username, role: person.role },
          await this.#store.classes.assignment(record.clusterId, record.vmid),
        )
      : 'the person was removed from the lab';
    if (!person || reason !== undefined) {
      await this.#auditRefused(record, reason ?? 'the person was removed from the lab');
      throw new ConsoleNotYoursError({
        username: person?.username ?? `person ${record.personId}`,
        clusterId: record.clusterId,
        vmid: record.vmid,
        reason: reason ?? '',
      });
    }
    return { ...record, person };
  }

  /** A refused use of a known link or page session, audited with the chat identity it was made for. */
  async #auditRefused(record: ConsoleGrantRecord, reason: string): Promise<void> {
    const person = await this.#store.classes.getPerson(record.personId);
    await auditConsole(
      { store: this.#store, clock: this.#clock },
      { ...record, person: { username: person?.username ?? `person ${record.personId}` } },
      'open',
      'denied',
      { reason },
    );
  }
}

import { VmPower, type PowerAction } from './vm-power.js';
import type { Viewer } from '../inventory/viewer.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { silentNotifier, type PersonNotifier } from '../ports/person-notifier.js';
import { sendReadyNotices } from './ready-notices.js';
import { tellPerson } from './tell-person.js';
import { tellTeachers } from './tell-teachers.js';
import { QUOTA_WARNING_TTL_MS, quotaWarnedKey, type QuotaWarning } from './quota-warning.js';
import type {
  ClassScheduleRecord,
  ClassTimePolicyRecord,
  EpochMs,
  VmAssignmentRecord,
  VmInventoryRecord,
} from '../store/records.js';
import type { Store } from '../store/store.js';
import { DuplicateNameError } from '../store/store-errors.js';
import { listVmResources } from '../templates/template-inventory.js';
import { recordPowerState } from '../inventory/record-power-state.js';
import { bulkPowerAction, type BulkVmOutcome } from './bulk-power.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import { DEFAULT_LEASE_TTL_MS, leaseHolderId, whileHoldingLease } from '../store/lease-heartbeat.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { assertTimerMs } from '../util/timer-limit.js';
import { keepsUsedNow } from './keep-running.js';
import { DEFAULT_AUDIT_RETENTION_DAYS, pruneAuditLog } from '../audit/audit-retention.js';
import {
  consoleIsOpen,
  describeIdleSignals,
  loggedInUsers,
  neverConnectedKey,
  type IdleSignal,
  type NeverConnectedState,
} from './idle-signals.js';
import { noticeQuotaShare } from './quota-notice.js';
import { DEFAULT_IDLE_WARNING_MINUTES } from './idle-warning-default.js';

export { DEFAULT_IDLE_WARNING_MINUTES };
import { currentSession, nextSession, sessionsBetween, type ClassSession } from './schedule-spec.js';
import { classTimeZone, formatLocalTime } from './local-time.js';
import { formatHours, studentUsage } from './usage.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';
import { runEndOfTerm, type EndOfTermAction } from './end-of-term.js';
import type { ClassNetworksOf } from '../deploy/lab-networks.js';
import { termPhase } from './term-dates.js';
import { SDK_DEFAULTS } from '../util/defaults.js';

const LEASE = 'class-scheduler';
/** After a session ends, its stop is still done this long (a scheduler that was down catches up). */
const STOP_CATCH_UP_MS = 6 * 3_600_000;
/** Idle detection trusts a VM's CPU only if the sync read it this recently. */
const STALE_CPU_MS = 5 * 60_000;
const SCHEDULER: Viewer = { personId: null, username: 'scheduler', role: 'admin' };
/** Where a session's start or stop of a VM stands in its claim: taken, sent (and audited), finished. */
type ClaimState = 'claimed' | 'sending' | 'done';
const WEEK_MS = 7 * 86_400_000;
/** How long a new leader waits for a dead leader's bulk task before reading the VMs anyway. */
const BULK_TASK_TAKEOVER_WAIT_MS = 30 * 60_000;

/** A session's start or stop of one VM, claimed in the store and audited as sent. */
interface Claim {
  vm: VmInventoryRecord;
  base: {
    classId: string;
    scheduleId: number;
    sessionStart: EpochMs;
    clusterId: string;
    vmid: number;
    action: 'start' | 'shutdown';
  };
  reason: string;
  key: string;
  /** Moves the claim on; `upid` names the PVE task (a bulk action's) that carries the action. */
  setClaim: (store: Store, state: ClaimState, upid?: string) => Promise<void>;
}
/** The store key that remembers an idle warning no one could be given (the owner has no chat account). */
const unwarnedKey = (a: VmAssignmentRecord, warnedAt: EpochMs): string =>
  `idle-unwarned:${a.clusterId}/${a.vmid}:${warnedAt}`;

/** Settings of the class scheduler; every one but `store` and `clusters` has a default. */
export interface ClassSchedulerOptions {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
  logger?: Logger;
  /** Who this process is in the scheduler's lease. @defaultValue `hostname:pid:random` */
  holderId?: string;
  /** How often the loop looks for due work. @defaultValue 30000 */
  tickMs?: number;
  /** How long the lease outlives this process's last heartbeat (renewed every third of it). @defaultValue 30000 */
  leaseTtlMs?: number;
  /** Power actions in flight per node, so 30 starts do not hit one storage at once. @defaultValue 2 */
  perNodeConcurrency?: number;
  /** Graceful shutdown time before a hard stop at a session's end. @defaultValue 120 */
  shutdownTimeoutS?: number;
  /** Task polling interval of the power actions. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Direct messages to students (the idle warning). @defaultValue tells no one */
  notifier?: PersonNotifier;
  /**
   * Minutes between the idle warning and the stop, and between the quota warning and the stop, for
   * a class whose time policy sets no `idleWarnMinutes`. @defaultValue 10
   */
  idleWarningMinutes?: number;
  /** Days audit entries are kept; the scheduler's rounds prune older ones once a day. @defaultValue 400 */
  auditRetentionDays?: number;
  /** Each cluster's class networks: a confirmed end-of-term destroy removes the class's networks after its VMs. */
  networks?: ClassNetworksOf;
}

/** One power action the scheduler took (or tried). */
export interface ScheduledAction {
  classId: string;
  /** The schedule and session behind a start or stop; null for idle actions. */
  scheduleId: number | null;
  sessionStart: EpochMs | null;
  clusterId: string;
  vmid: number;
  action: 'start' | 'shutdown' | 'idle-warning' | 'idle-shutdown' | 'quota-warning' | 'quota-shutdown' | 'ready-notice';
  /** With an idle warning or stop: the signal(s) behind it. */
  signal?: string;
  outcome: 'ok' | 'already' | 'failed';
  error?: string;
}

/**
 * Starts a class's student VMs `startBeforeMin` minutes before each scheduled session and shuts
 * them down (then hard-stops after `shutdownTimeoutS`) when it ends. Only the holder of the
 * `class-scheduler` lease acts. Each start and stop of a VM in a session is claimed in the store
 * before it is sent (a nonce keyed by class, schedule, session and VM), so a lease handover or two
 * processes never start or stop a VM twice for one session; a failed action gives its claim back
 * and is tried again on the next tick. Actions are audited by `VmPower` as actor `scheduler` with
 * the reason.
 */
export class ClassScheduler {
  readonly holderId: string;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #power: VmPower;
  readonly #clusters: ClusterApis;
  #notifier: PersonNotifier;
  readonly #o: Required<
    Pick<
      ClassSchedulerOptions,
      'tickMs' | 'leaseTtlMs' | 'perNodeConcurrency' | 'shutdownTimeoutS' | 'idleWarningMinutes' | 'auditRetentionDays'
    >
  >;
  #loop: Promise<void> | undefined;
  #stop: AbortController | undefined;
  #isLeader = false;
  /** Clusters that answered 501 to a bulk action (PVE before 9.0.13): served one VM at a time. */
  readonly #noBulkActions = new Set<string>();
  readonly #pollIntervalMs: number;
  readonly #networks: ClassNetworksOf | undefined;
  /** Ready-notice keys already claimed in the store, so steady rounds do not claim them again. */
  readonly #readyClaimed = new Set<string>();

  constructor(options: ClassSchedulerOptions) {
    checkOptions('new ClassScheduler', options, STORE_AND_CLUSTERS, PORT_HINTS);
    this.holderId = options.holderId ?? leaseHolderId();
    this.#networks = options.networks;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'scheduler' });
    this.#notifier = options.notifier ?? silentNotifier;
    this.#clusters = options.clusters;
    this.#pollIntervalMs = options.pollIntervalMs ?? SDK_DEFAULTS.scheduler.pollIntervalMs;
    this.#power = new VmPower({
      store: options.store,
      clusters: options.clusters,
      clock: this.#clock,
      pollIntervalMs: options.pollIntervalMs,
    });
    this.#o = {
      tickMs: options.tickMs ?? SDK_DEFAULTS.scheduler.tickMs,
      leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
      perNodeConcurrency: options.perNodeConcurrency ?? SDK_DEFAULTS.scheduler.perNodeConcurrency,
      shutdownTimeoutS: options.shutdownTimeoutS ?? SDK_DEFAULTS.scheduler.shutdownTimeoutS,
      idleWarningMinutes: options.idleWarningMinutes ?? DEFAULT_IDLE_WARNING_MINUTES,
      auditRetentionDays: options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS,
    };
    assertTimerMs(this.#o.tickMs, 'scheduler tickMs');
    assertTimerMs(this.#o.leaseTtlMs, 'scheduler leaseTtlMs');
  }

  /** Sends the idle warnings through `notifier` from now on (a bot gives its own once it is up). */
  useNotifier(notifier: PersonNotifier): void {
    this.#notifier = notifier;
  }

  /** Minutes from a warning to the stop in a class whose policy sets none. */
  get idleWarningMinutes(): number {
    return this.#o.idleWarningMinutes;
  }

  /** Whether this scheduler holds the lease (as of its last attempt). */
  get isLeader(): boolean {
    return this.#isLeader;
  }

  /**
   * One round: takes or renews the lease and, if held, does the work due now. Returns what it did
   * (nothing when another process holds the lease).
   */
  async runOnce(): Promise<ScheduledAction[]> {
    this.#isLeader = await this.#store.sync.acquireLease(LEASE, this.holderId, this.#o.leaseTtlMs, this.#clock.now());
    if (!this.#isLeader) return [];
    // A round of many starts can outlast the lease: it is renewed while the round runs.
    return whileHoldingLease(
      {
        store: this.#store,
        clock: this.#clock,
        name: LEASE,
        holder: this.holderId,
        ttlMs: this.#o.leaseTtlMs,
        logger: this.#logger,
      },
      () => this.runDue(),
    );
  }

  /** The work due now, whoever holds the lease (for tests and a one-off `lab` command). */
  async runDue(): Promise<ScheduledAction[]> {
    const now = this.#clock.now();
    const schedules = await this.#store.schedules.list();
    const byClass = new Map<string, ClassScheduleRecord[]>();
    for (const s of schedules) byClass.set(s.classId, [...(byClass.get(s.classId) ?? []), s]);
    const ended = new Set(
      (await this.#store.classTerms.list()).filter((t) => termPhase(t, now) !== 'running').map((t) => t.classId),
    );
    const done: ScheduledAction[] = [];
    for (const [classId, list] of byClass) {
      const sessions = list.flatMap((s) => sessionsBetween(s, now - STOP_CATCH_UP_MS, now + 1));
      // A class whose term has ended has no sessions any more: nothing starts.
      const active = ended.has(classId) ? [] : sessions.filter((s) => s.warmupAt <= now && now < s.end);
      for (const session of active) done.push(...(await this.#act(session, 'start')));
      // A session that ended while another of the class runs (back to back) leaves the VMs on.
      if (active.length === 0) {
        for (const session of sessions.filter((s) => s.end <= now && now < s.end + STOP_CATCH_UP_MS))
          done.push(...(await this.#act(session, 'shutdown')));
      }
    }
    // "Ready" goes out before any idle or quota warning of the same round.
    for (const n of await sendReadyNotices({
      store: this.#store,
      notifier: this.#notifier,
      clock: this.#clock,
      claimed: this.#readyClaimed,
      logger: this.#logger,
    })) {
      done.push({
        classId: n.classId,
        scheduleId: null,
        sessionStart: null,
        clusterId: n.clusterId,
        vmid: n.vmid,
        action: 'ready-notice',
        outcome: n.delivered ? 'ok' : 'failed',
      });
    }
    done.push(...(await this.#idle(now)));
    done.push(...(await this.#quota(now)));
    await this.runEndOfTerm(now);
    await pruneAuditLog({
      store: this.#store,
      clock: this.#clock,
      holderId: this.holderId,
      retentionDays: this.#o.auditRetentionDays,
      leaseTtlMs: this.#o.leaseTtlMs,
      logger: this.#logger,
    }).catch((error: unknown) => this.#logger.warn('audit pruning failed; the next round tries again', { error }));
    return done;
  }

  /**
   * The end-of-term work due at `now` (part of every round, after the sessions, idle and quota
   * rules): reminders, the stops at a class's end, the weekly destroy reminders and confirmed
   * destroys. Returns what it did, also logged.
   */
  async runEndOfTerm(now: EpochMs = this.#clock.now()): Promise<EndOfTermAction[]> {
    const actions = await runEndOfTerm(
      {
        store: this.#store,
        clusters: this.#clusters,
        clock: this.#clock,
        logger: this.#logger,
        notifier: this.#notifier,
        power: this.#power,
        actor: SCHEDULER,
        holderId: this.holderId,
        shutdownTimeoutS: this.#o.shutdownTimeoutS,
        pollIntervalMs: this.#pollIntervalMs,
        ...(this.#networks ? { networks: this.#networks } : {}),
      },
      now,
    );
    for (const a of actions) this.#logger.info('end of term', { ...a });
    return actions;
  }

  /**
   * Quota enforcement outside sessions: a student with no hours left whose class VM runs gets a
   * direct message, and the VM is shut down the class's `idleWarnMinutes` (else `idleWarningMinutes`)
   * later (audited with the reason).
   * The warning is recorded per running interval (a store nonce), so a lease handover neither
   * warns twice nor forgets the grace period.
   */
  async #quota(now: EpochMs): Promise<ScheduledAction[]> {
    const out: ScheduledAction[] = [];
    for (const klass of await this.#store.classes.listClasses()) {
      const policy = await this.#store.usage.policy(klass.id);
      if (policy?.quotaHours == null) continue;
      const warnMin = policy.idleWarnMinutes ?? this.#o.idleWarningMinutes;
      const schedules = await this.#store.schedules.list(klass.id);
      const inSession = currentSession(schedules, now) !== undefined;
      const students = (await this.#store.classes.assignmentsOfClass(klass.id)).filter(
        (a) => a.role === 'student' && a.personId !== null,
      );
      for (const personId of [...new Set(students.map((a) => a.personId!))]) {
        const usage = await studentUsage(this.#store, klass.id, personId, now);
        // Teachers hear once per allowance when a student passes 80 % of it (DMs; the next round retries a failed one).
        await noticeQuotaShare({ store: this.#store, notifier: this.#notifier, logger: this.#logger }, usage, now);
        if (inSession || usage.leftMs !== 0 || usage.running === 0) continue;
        const allowed = formatHours(usage.quotaMs ?? 0);
        const person = await this.#store.classes.getPerson(personId);
        for (const a of students.filter((x) => x.personId === personId)) {
          const vm = await this.#store.inventory.get(a.clusterId, a.vmid);
          if (!vm || vm.status !== 'running') continue;
          const open = (await this.#store.usage.intervals([a], now)).find((i) => i.endedAt === null);
          const key = quotaWarnedKey(a, open?.startedAt ?? 0);
          const base = {
            classId: klass.id,
            scheduleId: null,
            sessionStart: null,
            clusterId: a.clusterId,
            vmid: a.vmid,
          };
          const warned = (await this.#store.nonces.take(key, now)) as QuotaWarning | undefined;
          if (!warned) {
            const next = nextSession(schedules, now);
            const then = next
              ? `start it again in the next session (${formatLocalTime(next.start, classTimeZone(schedules.filter((x) => x.id === next.scheduleId)))}) or ask your teacher for more hours`
              : 'ask your teacher for more hours to start it again';
            const text = `${vm.name} has used all ${allowed} ${klass.id} allows outside sessions and will stop in ${warnMin} min; save your work now, and ${then}.`;
            const told = await tellPerson(this.#store, this.#notifier, personId, text);
            if (told === 'failed') {
              this.#logger.warn('quota warning not delivered; trying again next round', base);
              out.push({
                ...base,
                action: 'quota-warning',
                outcome: 'failed',
                error: 'the warning could not be delivered',
              });
              continue;
            }
            const teachersTold =
              told === 'unreachable'
                ? await tellTeachers(
                    this.#store,
                    this.#notifier,
                    klass.id,
                    `${vm.name} (${person?.username ?? 'no owner'}'s, ${klass.id}) has used all ${allowed} the class allows outside sessions and will stop in ${warnMin} min. ${person?.username ?? 'Its owner'} has no chat account to warn, so you are told instead.`,
                  )
                : 0;
            await this.#store.nonces.put(
              key,
              { warnedAt: now, delivered: told === 'delivered', ...(teachersTold ? { teachersTold } : {}) },
              now + QUOTA_WARNING_TTL_MS,
              now,
            );
            if (told === 'unreachable')
              this.#logger.info('quota warning not sent: the student has no chat account', { ...base, teachersTold });
            out.push({
              ...base,
              action: 'quota-warning',
              outcome: told === 'delivered' ? 'ok' : 'failed',
              ...(told === 'delivered' ? {} : { error: 'the owner has no chat account to warn' }),
            });
            continue;
          }
          await this.#store.nonces.put(key, warned, now + QUOTA_WARNING_TTL_MS, now);
          if (now - warned.warnedAt < warnMin * 60_000) continue;
          const who = person?.username ?? 'the owner';
          try {
            await this.#power.perform(SCHEDULER, a.clusterId, a.vmid, 'shutdown', {
              shutdownTimeoutS: this.#o.shutdownTimeoutS,
              reason: `quota: ${who} has no hours left outside sessions of ${klass.id}${warned.delivered === false ? `; no warning was delivered (${who} has no chat account)${warned.teachersTold ? `; ${warned.teachersTold} teacher(s) were warned` : ''}` : ''}`,
            });
            out.push({ ...base, action: 'quota-shutdown', outcome: 'ok' });
          } catch (error) {
            out.push({
              ...base,
              action: 'quota-shutdown',
              outcome: 'failed',
              error: error instanceof Error ? error.message : String(error),
            });
          }
        }
      }
    }
    return out;
  }

  /**
   * Idle auto-shutdown. A running student VM is idle when every idle signal its class turned on
   * agrees — CPU below `idleCpuBelowPercent` (from the CPU the sync already stored, no PVE request),
   * nobody logged in (`idleUsers`: the guest agent's `get-users`; an agent that does not answer says
   * nothing) — for `idleForMinutes`; an open console session of ours means never idle (unless the
   * class turned `consoleNeverIdle` off). Its owner gets a direct message naming the signal, and it
   * is shut down the class's `idleWarnMinutes` (else `idleWarningMinutes`) later unless kept
   * (`keepVmRunning`) or busy again; the audit entry names the signal. The message offers `/myvm keep`
   * only while the class allows the owner another keep this session; a warning its owner cannot be
   * given (no chat account) goes to the class's teachers. A VM nobody connected to within
   * `neverConnectedMinutes` of its start is warned and stopped the same way (signal
   * `never-connected`). During a scheduled session (warm-up included) the class's VMs are left alone
   * unless its policy says `idleInSessions`: their idle time starts again after the session.
   */
  async #idle(now: EpochMs): Promise<ScheduledAction[]> {
    const out: ScheduledAction[] = [];
    for (const klass of await this.#store.classes.listClasses()) {
      const policy = await this.#store.usage.policy(klass.id);
      if (!policy) continue;
      const idleOn =
        policy.idleForMinutes !== null && (policy.idleCpuBelowPercent !== null || policy.idleUsers === true);
      const neverOn = policy.neverConnectedMinutes != null;
      if (!idleOn && !neverOn) continue;
      const inSession =
        policy.idleInSessions !== true && currentSession(await this.#store.schedules.list(klass.id), now) !== undefined;
      for (const a of (await this.#store.classes.assignmentsOfClass(klass.id)).filter((x) => x.role === 'student')) {
        if (inSession) {
          await this.#forgetIdle(a);
          continue;
        }
        const action = idleOn ? await this.#idleOne(policy, a, now) : undefined;
        if (action) out.push(action);
        else if (neverOn) {
          const never = await this.#neverConnected(policy, a, now);
          if (never) out.push(never);
        }
      }
    }
    return out;
  }

  /** Forgets a VM's idle time and any pending idle warning (a session started); keeps its keeps. */
  async #forgetIdle(a: VmAssignmentRecord): Promise<void> {
    const record = await this.#store.usage.idle(a.clusterId, a.vmid);
    if (record && (record.idleSince !== null || record.warnedAt !== null))
      await this.#store.usage.saveIdle({ ...record, idleSince: null, warnedAt: null });
  }

  /**
   * Which idle signals fire for the VM now: the list (every enabled signal that could be read says
   * idle), `busy` (one says busy, or a console of ours is open), or `unknown` (nothing to judge on).
   */
  async #idleSignals(
    policy: ClassTimePolicyRecord,
    vm: VmInventoryRecord,
    now: EpochMs,
  ): Promise<IdleSignal[] | 'busy' | 'unknown'> {
    if (policy.consoleNeverIdle !== false && (await consoleIsOpen(this.#store, vm, now))) return 'busy';
    const fired: IdleSignal[] = [];
    // A CPU reading the sync has not refreshed lately says nothing about now.
    if (policy.idleCpuBelowPercent !== null && now - vm.lastUpdated <= STALE_CPU_MS) {
      if (vm.cpuUsage * 100 >= policy.idleCpuBelowPercent) return 'busy';
      fired.push('cpu');
    }
    if (policy.idleUsers === true) {
      const users = await loggedInUsers(this.#clusters, vm);
      if (users !== undefined && users > 0) return 'busy';
      if (users === 0) fired.push('users');
    }
    if (fired.length === 0) return 'unknown';
    // With the CPU signal on but stale, the users signal alone does not decide.
    if (policy.idleCpuBelowPercent !== null && !fired.includes('cpu')) return 'unknown';
    return fired;
  }

  async #idleOne(
    policy: ClassTimePolicyRecord,
    a: VmAssignmentRecord,
    now: EpochMs,
  ): Promise<ScheduledAction | undefined> {
    const store = this.#store;
    const vm = await store.inventory.get(a.clusterId, a.vmid);
    let record = await store.usage.idle(a.clusterId, a.vmid);
    if (!vm || vm.goneAt !== null || vm.status !== 'running') {
      if (record) await store.usage.clearIdle(a.clusterId, a.vmid);
      return undefined;
    }
    const signals = await this.#idleSignals(policy, vm, now);
    if (signals === 'unknown') return undefined;
    const base = {
      classId: policy.classId,
      scheduleId: null,
      sessionStart: null,
      clusterId: a.clusterId,
      vmid: a.vmid,
    };
    if (signals === 'busy') {
      if (record && record.idleSince !== null)
        await store.usage.saveIdle({ ...record, idleSince: null, warnedAt: null });
      return undefined;
    }
    const signal = signals.join('+');
    // The idle window is measured from the VM's start at the earliest: a record from an earlier run counts no more.
    const open = (await store.usage.intervals([a], now)).find((i) => i.endedAt === null);
    if (record && record.idleSince !== null && open && record.idleSince < open.startedAt)
      record = { ...record, idleSince: open.startedAt, warnedAt: null };
    if (!record || record.idleSince === null) {
      await store.usage.saveIdle({
        clusterId: a.clusterId,
        vmid: a.vmid,
        idleSince: now,
        warnedAt: null,
        keptAt: record?.keptAt ?? null,
        keepsUsed: record?.keepsUsed ?? 0,
      });
      return undefined;
    }
    const forMin = policy.idleForMinutes!;
    const warnMin = policy.idleWarnMinutes ?? this.#o.idleWarningMinutes;
    const why = describeIdleSignals(signals, policy);
    if (record.warnedAt === null) {
      if (now - record.idleSince < forMin * 60_000) return undefined;
      const keepsLeft = policy.keepsPerSession - keepsUsedNow(record, await store.schedules.list(policy.classId), now);
      const text = `${vm.name} has been idle for ${forMin} min and will stop in ${warnMin} min. Why: ${why}. ${keepsLeft > 0 ? '/myvm keep to keep it running.' : 'Save your work before then.'}`;
      const told = await this.#warn(a, vm, policy.classId, text, `has been idle for ${forMin} min (${why})`, warnMin);
      if (told === 'failed') {
        // No stop without a warning delivered: the next round tries again.
        this.#logger.warn('idle warning not delivered; trying again next round', base);
        return {
          ...base,
          action: 'idle-warning',
          outcome: 'failed',
          signal,
          error: 'the warning could not be delivered',
        };
      }
      await store.usage.saveIdle({ ...record, warnedAt: now });
      if (told !== 'delivered') {
        await store.nonces.put(
          unwarnedKey(a, now),
          { warnedAt: now, teachersTold: told.teachersTold },
          now + WEEK_MS,
          now,
        );
        this.#logger.info('idle warning not sent: the VM has no owner with a chat account', {
          ...base,
          teachersTold: told.teachersTold,
        });
        return {
          ...base,
          action: 'idle-warning',
          outcome: 'failed',
          signal,
          error: told.teachersTold
            ? `the owner has no chat account to warn; told ${told.teachersTold} teacher(s) instead`
            : 'the owner has no chat account to warn',
        };
      }
      return { ...base, action: 'idle-warning', outcome: 'ok', signal };
    }
    if (now - record.warnedAt < warnMin * 60_000) return undefined;
    const unwarned = (await store.nonces.take(unwarnedKey(a, record.warnedAt), now)) as
      { warnedAt: EpochMs; teachersTold?: number } | undefined;
    const warning = !unwarned
      ? `warned ${warnMin} min before`
      : unwarned.teachersTold
        ? `the owner has no chat account; ${unwarned.teachersTold} teacher(s) were warned ${warnMin} min before`
        : 'no warning delivered (the owner has no chat account)';
    try {
      await this.#power.perform(SCHEDULER, a.clusterId, a.vmid, 'shutdown', {
        shutdownTimeoutS: this.#o.shutdownTimeoutS,
        reason: `idle: ${why} for ${Math.round((now - record.idleSince) / 60_000)} min, ${warning}`,
        details: { signal },
      });
      await store.usage.clearIdle(a.clusterId, a.vmid);
      return { ...base, action: 'idle-shutdown', outcome: 'ok', signal };
    } catch (error) {
      if (unwarned) await store.nonces.put(unwarnedKey(a, record.warnedAt), unwarned, now + WEEK_MS, now);
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn('idle shutdown failed; will retry', { ...base, error: message });
      return { ...base, action: 'idle-shutdown', outcome: 'failed', signal, error: message };
    }
  }

  /**
   * Warns the VM's owner with `text`; when they have no chat account, its class's teachers (saying
   * the VM `what`). `failed` means worth trying again next round.
   */
  async #warn(
    a: VmAssignmentRecord,
    vm: VmInventoryRecord,
    classId: string,
    text: string,
    what: string,
    warnMin: number,
  ): Promise<'delivered' | 'failed' | { teachersTold: number }> {
    const told = await tellPerson(this.#store, this.#notifier, a.personId, text);
    if (told !== 'unreachable') return told;
    const owner = a.personId === null ? undefined : await this.#store.classes.getPerson(a.personId);
    const teachersTold = await tellTeachers(
      this.#store,
      this.#notifier,
      classId,
      `${vm.name} (${owner ? `${owner.username}'s` : 'no owner'}, ${classId}) ${what} and will stop in ${warnMin} min. ${owner ? `${owner.username} has no chat account` : 'It has no owner'} to warn, so you are told instead.`,
    );
    return { teachersTold };
  }

  /**
   * The never-connected rule: a running student VM that nobody connected to (a console session of
   * ours opened since it started, or a login its guest agent reports) within the class's
   * `neverConnectedMinutes` of its start is warned, then shut down the warning delay later unless
   * someone connects meanwhile. Its state per run is a store nonce, so a lease handover neither warns
   * twice nor forgets the delay.
   */
  async #neverConnected(
    policy: ClassTimePolicyRecord,
    a: VmAssignmentRecord,
    now: EpochMs,
  ): Promise<ScheduledAction | undefined> {
    const store = this.#store;
    const vm = await store.inventory.get(a.clusterId, a.vmid);
    if (!vm || vm.goneAt !== null || vm.status !== 'running') return undefined;
    const open = (await store.usage.intervals([a], now)).find((i) => i.endedAt === null);
    const minutes = policy.neverConnectedMinutes!;
    if (!open || now - open.startedAt < minutes * 60_000) return undefined;
    const key = neverConnectedKey(a, open.startedAt);
    const state = (await store.nonces.peek(key, now)) as NeverConnectedState | undefined;
    if (state?.connected) return undefined;
    const consoles = await store.audit.list({
      targets: [`vm ${a.clusterId}/${a.vmid}`],
      action: 'console.open',
      since: open.startedAt,
    });
    const connected =
      consoles.some((e) => e.outcome === 'ok') ||
      (policy.consoleNeverIdle !== false && (await consoleIsOpen(store, vm, now))) ||
      ((await loggedInUsers(this.#clusters, vm)) ?? 0) > 0;
    if (connected) {
      await store.nonces.take(key, now);
      await store.nonces.put(key, { connected: true } satisfies NeverConnectedState, now + WEEK_MS, now);
      return undefined;
    }
    const base = {
      classId: policy.classId,
      scheduleId: null,
      sessionStart: null,
      clusterId: a.clusterId,
      vmid: a.vmid,
      signal: 'never-connected',
    };
    const warnMin = policy.idleWarnMinutes ?? this.#o.idleWarningMinutes;
    const why = describeIdleSignals(['never-connected'], policy);
    if (!state) {
      const text = `${vm.name} has been running for ${minutes} min and nobody has connected to it, so it will stop in ${warnMin} min. Why: ${why}. Connect to it (/myvm connect or /myvm console) to keep it running.`;
      const told = await this.#warn(
        a,
        vm,
        policy.classId,
        text,
        `has been running for ${minutes} min with nobody connected`,
        warnMin,
      );
      if (told === 'failed') {
        this.#logger.warn('never-connected warning not delivered; trying again next round', base);
        return { ...base, action: 'idle-warning', outcome: 'failed', error: 'the warning could not be delivered' };
      }
      const record: NeverConnectedState = {
        warnedAt: now,
        delivered: told === 'delivered',
        ...(told === 'delivered' ? {} : { teachersTold: told.teachersTold }),
      };
      await store.nonces.put(key, record, now + WEEK_MS, now);
      return told === 'delivered'
        ? { ...base, action: 'idle-warning', outcome: 'ok' }
        : { ...base, action: 'idle-warning', outcome: 'failed', error: 'the owner has no chat account to warn' };
    }
    if (now - state.warnedAt < warnMin * 60_000) return undefined;
    const warning = state.delivered
      ? `warned ${warnMin} min before`
      : state.teachersTold
        ? `the owner has no chat account; ${state.teachersTold} teacher(s) were warned ${warnMin} min before`
        : 'no warning delivered (the owner has no chat account)';
    try {
      await this.#power.perform(SCHEDULER, a.clusterId, a.vmid, 'shutdown', {
        shutdownTimeoutS: this.#o.shutdownTimeoutS,
        reason: `idle: ${why}, ${warning}`,
        details: { signal: 'never-connected' },
      });
      await store.nonces.take(key, now);
      return { ...base, action: 'idle-shutdown', outcome: 'ok' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn('never-connected shutdown failed; will retry', { ...base, error: message });
      return { ...base, action: 'idle-shutdown', outcome: 'failed', error: message };
    }
  }

  async #act(session: ClassSession, action: 'start' | 'shutdown'): Promise<ScheduledAction[]> {
    const vms = await this.#studentVms(session.classId);
    const byCluster = new Map<string, VmInventoryRecord[]>();
    for (const vm of vms) byCluster.set(vm.clusterId, [...(byCluster.get(vm.clusterId) ?? []), vm]);
    const results = await Promise.all(
      [...byCluster].map(([clusterId, list]) =>
        this.#noBulkActions.has(clusterId) ? this.#perVm(session, list, action) : this.#bulk(session, list, action),
      ),
    );
    return results.flat();
  }

  /** One power task per VM, `perNodeConcurrency` at a time on each node (clusters without bulk actions). */
  async #perVm(
    session: ClassSession,
    vms: VmInventoryRecord[],
    action: 'start' | 'shutdown',
  ): Promise<ScheduledAction[]> {
    const byNode = new Map<string, VmInventoryRecord[]>();
    for (const vm of vms)
      byNode.set(`${vm.clusterId}/${vm.node}`, [...(byNode.get(`${vm.clusterId}/${vm.node}`) ?? []), vm]);
    const results = await Promise.all(
      [...byNode.values()].map((list) =>
        mapWithConcurrency(list, this.#o.perNodeConcurrency, async (vm) => {
          const claimed = await this.#claim(session, vm, action);
          return 'claim' in claimed ? this.#sendOne(claimed.claim) : claimed.result;
        }),
      ),
    );
    return results.flat().filter((r): r is ScheduledAction => r !== undefined);
  }

  /**
   * The class's VMs on one cluster with one bulk request (PVE 9, `bulkPowerAction`): every VM is
   * claimed and audited as sent first, as for single starts; each VM's outcome is then recorded
   * (power state, usage, audit) as a single action's would be. A cluster without bulk actions is
   * remembered and served one VM at a time.
   */
  async #bulk(
    session: ClassSession,
    vms: VmInventoryRecord[],
    action: 'start' | 'shutdown',
  ): Promise<ScheduledAction[]> {
    const clusterId = vms[0]!.clusterId;
    const results: ScheduledAction[] = [];
    const claims: Claim[] = [];
    for (const vm of vms) {
      const claimed = await this.#claim(session, vm, action);
      if ('claim' in claimed) claims.push(claimed.claim);
      else if (claimed.result) results.push(claimed.result);
    }
    if (claims.length === 0) return results;
    let outcomes: Awaited<ReturnType<typeof bulkPowerAction>>;
    try {
      outcomes = await bulkPowerAction(
        this.#clusters.get(clusterId),
        action,
        claims.map((c) => c.vm),
        {
          graceS: this.#o.shutdownTimeoutS,
          maxWorkers: this.#o.perNodeConcurrency * new Set(claims.map((c) => c.vm.node)).size,
          clock: this.#clock,
          pollIntervalMs: this.#pollIntervalMs,
          // Recorded before the wait: a leader killed now leaves the task to its successor.
          onSent: (upid) =>
            this.#store.transaction(async (tx) => {
              for (const c of claims) await c.setClaim(tx, 'sending', upid);
            }),
        },
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const c of claims) results.push(await this.#failed(c, message));
      return results;
    }
    if (outcomes === 'unsupported') {
      this.#noBulkActions.add(clusterId);
      this.#logger.info('the cluster has no bulk actions (PVE before 9.0.13); starting and stopping VMs one by one', {
        clusterId,
      });
      for (const c of claims) {
        const result = await this.#sendOne(c);
        if (result) results.push(result);
      }
      return results;
    }
    for (const c of claims) {
      const outcome = outcomes.find((o: BulkVmOutcome) => o.vmid === c.vm.vmid);
      if (!outcome?.ok) {
        results.push(await this.#failed(c, outcome?.error ?? 'no outcome from the bulk action', true));
        continue;
      }
      const now = this.#clock.now();
      await recordPowerState(
        this.#store,
        { clusterId, vmid: c.vm.vmid },
        action === 'start' ? 'running' : 'stopped',
        now,
        {
          node: outcome.node,
        },
      );
      await this.#store.audit.record({
        at: now,
        actor: SCHEDULER.username,
        action: `vm.${action}`,
        target: `${clusterId}/${c.vm.vmid}`,
        outcome: 'ok',
        details: {
          node: outcome.node,
          reason: c.reason,
          bulk: true,
          ...(outcome.forcedBecause ? { forced: true, forcedBecause: outcome.forcedBecause } : {}),
        },
      });
      await c.setClaim(this.#store, 'done');
      results.push({ ...c.base, outcome: 'ok' });
    }
    return results;
  }

  /** Waits until a PVE task another leader started has stopped, whatever its outcome. */
  async #taskEnded(clusterId: string, upid: string): Promise<void> {
    try {
      await waitForTask(this.#clusters.get(clusterId), upid, {
        clock: this.#clock,
        timeoutMs: BULK_TASK_TAKEOVER_WAIT_MS,
        pollIntervalMs: Math.min(250, this.#pollIntervalMs),
        maxPollIntervalMs: this.#pollIntervalMs,
      });
    } catch (error) {
      // Failed, gone or too slow: the VM's state on the cluster decides below either way.
      this.#logger.info('a bulk action a previous leader sent did not end well; reading the VMs instead', {
        clusterId,
        upid,
        error,
      });
    }
  }

  /**
   * Claims one VM's start or stop of a session in the store (once per session, across processes),
   * reconciling a claim a dead leader left; answers the result when there is nothing to send.
   */
  async #claim(
    session: ClassSession,
    vm: VmInventoryRecord,
    action: 'start' | 'shutdown',
  ): Promise<{ claim: Claim } | { result: ScheduledAction | undefined }> {
    const key = `schedule:${session.classId}:${session.scheduleId}:${session.start}:${action}:${vm.clusterId}/${vm.vmid}`;
    const expiresAt = session.end + STOP_CATCH_UP_MS + 86_400_000;
    const base = {
      classId: session.classId,
      scheduleId: session.scheduleId,
      sessionStart: session.start,
      clusterId: vm.clusterId,
      vmid: vm.vmid,
      action,
    };
    const reason =
      action === 'start'
        ? `class ${session.classId} session at ${new Date(session.start).toISOString()}`
        : `class ${session.classId} session ended`;
    const claim = (state: ClaimState, upid?: string) => ({ holder: this.holderId, state, ...(upid ? { upid } : {}) });
    const setClaim = async (store: Store, state: ClaimState, upid?: string) => {
      const now = this.#clock.now();
      await store.nonces.take(key, now);
      await store.nonces.put(key, claim(state, upid), expiresAt, now);
    };
    try {
      await this.#store.nonces.put(key, claim('claimed'), expiresAt, this.#clock.now());
    } catch (error) {
      if (!(error instanceof DuplicateNameError)) throw error;
      // Done, or being done here. A claim a dead leader left unfinished is reconciled: its audit
      // entry said what was sent; whether the VM got there is read from the cluster.
      const prior = (await this.#store.nonces.peek(key, this.#clock.now())) as
        { holder?: string; state?: ClaimState; upid?: string } | undefined;
      if (!prior || prior.holder === this.holderId || (prior.state !== 'claimed' && prior.state !== 'sending'))
        return { result: undefined };
      // A bulk action PVE still runs for the dead leader starts (or stops) this VM itself: sending
      // the action again would do it twice, so its end is awaited first.
      if (prior.state === 'sending' && prior.upid) await this.#taskEnded(vm.clusterId, prior.upid);
      const live = (await listVmResources(this.#clusters.get(vm.clusterId))).find((r) => r.vmid === vm.vmid);
      const want = action === 'start' ? 'running' : 'stopped';
      if (!live || live.status === want) {
        if (live)
          await this.#store.audit.record({
            at: this.#clock.now(),
            actor: SCHEDULER.username,
            action: `vm.${action}`,
            target: `${vm.clusterId}/${vm.vmid}`,
            outcome: 'ok',
            details: {
              node: live.node,
              reason,
              reconciled: `the scheduler in ${prior.holder ?? 'another process'} sent it and stopped before recording the outcome`,
            },
          });
        await setClaim(this.#store, 'done');
        return { result: { ...base, outcome: live ? 'ok' : 'already' } };
      }
      await setClaim(this.#store, 'claimed');
    }
    const fresh = await this.#store.inventory.get(vm.clusterId, vm.vmid);
    const want = action === 'start' ? 'running' : 'stopped';
    if (!fresh || fresh.status === want) {
      await setClaim(this.#store, 'done');
      return { result: { ...base, outcome: 'already' } };
    }
    // What is about to be sent is audited with the claim, in one transaction: a process killed
    // while the action is in flight leaves its audit entry behind, and the next leader reconciles.
    await this.#store.transaction(async (tx) => {
      await setClaim(tx, 'sending');
      await tx.audit.record({
        at: this.#clock.now(),
        actor: SCHEDULER.username,
        action: `vm.${action}`,
        target: `${vm.clusterId}/${vm.vmid}`,
        outcome: 'sent',
        details: { node: fresh.node, reason },
      });
    });
    return { claim: { vm: fresh, base, reason, setClaim, key } };
  }

  /** Sends one claimed VM's action through `VmPower` (waits for its task, records and audits it). */
  async #sendOne(c: Claim): Promise<ScheduledAction | undefined> {
    try {
      await this.#power.perform(SCHEDULER, c.vm.clusterId, c.vm.vmid, c.base.action satisfies PowerAction, {
        shutdownTimeoutS: this.#o.shutdownTimeoutS,
        reason: c.reason,
      });
      await c.setClaim(this.#store, 'done');
      return { ...c.base, outcome: 'ok' };
    } catch (error) {
      return this.#failed(c, error instanceof Error ? error.message : String(error));
    }
  }

  /** Gives a claim back, so the next tick tries again; `audit` records the failure (VmPower does it for single actions). */
  async #failed(c: Claim, message: string, audit = false): Promise<ScheduledAction> {
    await this.#store.nonces.take(c.key, this.#clock.now());
    if (audit)
      await this.#store.audit.record({
        at: this.#clock.now(),
        actor: SCHEDULER.username,
        action: `vm.${c.base.action}`,
        target: `${c.vm.clusterId}/${c.vm.vmid}`,
        outcome: 'failed',
        details: { error: message, bulk: true },
      });
    this.#logger.warn('scheduled power action failed; will retry', { ...c.base, error: message });
    return { ...c.base, outcome: 'failed', error: message };
  }

  async #studentVms(classId: string): Promise<VmInventoryRecord[]> {
    const assignments = (await this.#store.classes.assignmentsOfClass(classId)).filter((a) => a.role === 'student');
    const rows = await Promise.all(assignments.map((a) => this.#store.inventory.get(a.clusterId, a.vmid)));
    return rows.filter((r): r is VmInventoryRecord => r !== undefined && r.goneAt === null && !r.isTemplate);
  }

  /** Runs the loop: take or renew the lease; if held, do the work that is due. */
  start(): void {
    if (this.#loop) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.runOnce();
        } catch (error) {
          this.#logger.error('scheduler loop error (continuing)', { error });
        }
        await this.#clock.sleep(this.#o.tickMs, stop.signal).catch(() => undefined);
      }
    })();
  }

  /** Stops the loop and gives the lease up so another process takes over at once. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    if (this.#isLeader) await this.#store.sync.releaseLease(LEASE, this.holderId);
    this.#isLeader = false;
  }

  /** Stops the loop without releasing the lease, as a crashed process would (for tests). */
  async abandon(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#isLeader = false;
  }
}

import type { AuditRecord, EpochMs, PersonRole } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * Who or what did the last power action on a VM: the class schedule (a session's start or end),
 * an idle stop, the quota, the end of term, a teacher, an admin, or the VM's owner.
 */
export type LastActionCause = 'schedule' | 'idle' | 'quota' | 'term' | 'teacher' | 'admin' | 'student';

/** The last power action on a VM, from the audit log. */
export interface GridLastAction {
  /** `vm.start`, `vm.shutdown`, `vm.stop`, `vm.reboot`, `vm.keep`, `vm.reset`. */
  action: string;
  at: EpochMs;
  actor: string;
  cause: LastActionCause;
  /** Why, as the scheduler wrote it (`idle: below 5% CPU for 30 min, …`). */
  reason?: string;
}

/**
 * What the audit entry of a power action says about its cause. The scheduler writes its reason
 * first word first (`idle: …` with the signal that fired, `quota: …`, `term: …`, `class cs101
 * session ended`); a person is the owner, an admin (`roleOf`) or else a teacher of the class.
 */
export function lastPowerAction(
  entry: AuditRecord,
  owner: string | null,
  roleOf: (username: string) => PersonRole | undefined = () => undefined,
): GridLastAction {
  const reason = typeof entry.details.reason === 'string' ? entry.details.reason : undefined;
  const cause: LastActionCause =
    entry.actor === 'scheduler'
      ? reason?.startsWith('idle') === true
        ? 'idle'
        : reason?.startsWith('quota') === true
          ? 'quota'
          : reason?.startsWith('term') === true
            ? 'term'
            : 'schedule'
      : entry.actor === owner
        ? 'student'
        : roleOf(entry.actor) === 'admin'
          ? 'admin'
          : 'teacher';
  return { action: entry.action, at: entry.at, actor: entry.actor, cause, ...(reason ? { reason } : {}) };
}

/** Words for a cause, for a student: `the end of a session`, `an idle stop`, … */
const CAUSE_WORDS: Readonly<Record<LastActionCause, string>> = {
  schedule: 'the class schedule',
  idle: 'the idle rule',
  quota: 'the hours quota',
  term: 'the end of term',
  teacher: 'a teacher',
  admin: 'an admin',
  student: 'you',
};

/**
 * The last power action the lab took on each VM (`clusterId/vmid` targets), with its cause;
 * actors' roles are read once for all. VMs with none are left out.
 */
export async function lastPowerActions(
  store: Store,
  vms: ReadonlyArray<{ clusterId: string; vmid: number; owner: string | null }>,
): Promise<Map<string, GridLastAction>> {
  const targets = vms.map((v) => `${v.clusterId}/${v.vmid}`);
  const entries = targets.length
    ? await store.audit.latestByTarget(targets, { actionPrefix: 'vm.', outcome: 'ok' })
    : [];
  // One read of everyone (not one per actor), so the grid's store calls do not grow with the class.
  const people = entries.some((e) => e.actor !== 'scheduler') ? await store.classes.listPeople() : [];
  const roles = new Map<string, PersonRole>(people.map((p) => [p.username, p.role]));
  const ownerOf = new Map(vms.map((v) => [`${v.clusterId}/${v.vmid}`, v.owner]));
  return new Map(
    entries.map((e) => [e.target, lastPowerAction(e, ownerOf.get(e.target) ?? null, (u) => roles.get(u))]),
  );
}

/**
 * One sentence on why a VM is in its state: the last power action and its cause, or, for a VM
 * that stopped after the lab last started it, that it was shut down from inside or in Proxmox;
 * a stopped VM the lab never started (a new deployment's) was not started yet, not stopped by anyone.
 */
export function describeLastAction(
  status: string,
  last: GridLastAction | undefined,
  formatTime: (at: EpochMs) => string,
): string | undefined {
  if (!last) return status === 'stopped' ? 'Not started by the lab yet.' : undefined;
  const verb = VERB[last.action] ?? last.action;
  const startedLast = last.action === 'vm.start' || last.action === 'vm.reboot' || last.action === 'vm.keep';
  if (status === 'stopped' && startedLast)
    return `Stopped outside the lab after it was ${verb} at ${formatTime(last.at)} (shut down inside the VM, or in Proxmox).`;
  const by =
    last.cause === 'student'
      ? 'by you'
      : `by ${CAUSE_WORDS[last.cause]}${last.cause === 'teacher' || last.cause === 'admin' ? ` (${last.actor})` : ''}`;
  return `Last ${verb} ${by} at ${formatTime(last.at)}${last.reason ? `: ${last.reason}` : ''}.`;
}

const VERB: Readonly<Record<string, string>> = {
  'vm.start': 'started',
  'vm.shutdown': 'shut down',
  'vm.stop': 'stopped',
  'vm.reboot': 'restarted',
  'vm.keep': 'kept running',
  'vm.reset': 're-created from the class base',
};

import { Cron } from 'croner';
import { classTimeZone } from './local-time.js';
import { localDate } from './schedule-spec.js';
import { outsideSessionMs } from './usage.js';
import type { EpochMs, VmInventoryRecord, VmUsageIntervalRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { lastPowerActions, type GridLastAction } from '../inventory/last-power-action.js';

export type { GridLastAction, LastActionCause } from '../inventory/last-power-action.js';

/** One student VM of the class (or a student with none yet). */
export interface ClassGridRow {
  personId: number;
  username: string;
  displayName: string;
  vm: {
    clusterId: string;
    vmid: number;
    name: string;
    node: string;
    status: string;
    ip: string | null;
    /** Running and answering on SSH or RDP. */
    ready: boolean;
  } | null;
  /** Since when the VM has been idle; null while busy or stopped. */
  idleSince: EpochMs | null;
  /** Running time since the week began (Monday 00:00 in the class's zone). */
  weekMs: number;
  /** Quota left outside sessions; null without a quota. */
  leftMs: number | null;
  lastAction: GridLastAction | null;
}

/** A teacher's grid of a class, read from the store alone (no Proxmox request). */
export interface ClassGrid {
  classId: string;
  name: string;
  /** The class's time zone, for showing every time. */
  timezone: string;
  weekStartsAt: EpochMs;
  quotaMs: number | null;
  /** By username, then VM id. */
  rows: ClassGridRow[];
}

/**
 * The class's grid as of `now`: every student (members and owners of student VMs) with their VM,
 * state, idle time, hours this week and left, and the last power action with its cause. A fixed
 * number of reads whatever the class's size (no read per student); undefined for an unknown class.
 */
export async function classGrid(store: Store, classId: string, now: EpochMs): Promise<ClassGrid | undefined> {
  const [klass, members, assignments, policy, schedules, inventory] = await Promise.all([
    store.classes.getClass(classId),
    store.classes.members(classId),
    store.classes.assignmentsOfClass(classId),
    store.usage.policy(classId),
    store.schedules.list(classId),
    store.inventory.list({ classIds: [classId], includeGone: true }),
  ]);
  if (!klass) return undefined;
  const studentVms = assignments.filter((a) => a.role === 'student');
  const personIds = [
    ...new Set([
      ...members.filter((m) => m.role === 'student').map((m) => m.personId),
      ...studentVms.flatMap((a) => (a.personId === null ? [] : [a.personId])),
    ]),
  ];
  const [people, intervals, idle] = await Promise.all([
    store.classes.getPeople(personIds),
    store.usage.intervals(studentVms),
    store.usage.idleOf(studentVms),
  ]);
  const usernameOf = new Map(people.map((p) => [p.id, p.username]));
  const lastOf = await lastPowerActions(
    store,
    studentVms.map((a) => ({ ...a, owner: a.personId === null ? null : (usernameOf.get(a.personId) ?? null) })),
  );
  const timezone = classTimeZone(schedules);
  const weekStartsAt = weekStart(now, timezone);
  const quotaMs = policy?.quotaHours == null ? null : policy.quotaHours * 3_600_000;
  const key = (v: { clusterId: string; vmid: number }) => `${v.clusterId}/${v.vmid}`;
  const rowsOf = new Map<string, VmInventoryRecord>(inventory.map((r) => [key(r), r]));
  const idleOf = new Map(idle.map((r) => [key(r), r.idleSince]));
  const intervalsOf = groupBy(intervals, key);
  const vmsOf = groupBy(studentVms, (a) => String(a.personId));
  const usedOutsideOf = new Map<number, number>();
  for (const [person, vms] of vmsOf)
    usedOutsideOf.set(
      Number(person),
      outsideSessionMs(
        vms.flatMap((v) => intervalsOf.get(key(v)) ?? []),
        schedules,
        now,
      ),
    );

  const rows: ClassGridRow[] = [];
  for (const person of people) {
    const left = quotaMs === null ? null : Math.max(0, quotaMs - (usedOutsideOf.get(person.id) ?? 0));
    const base = { personId: person.id, username: person.username, displayName: person.displayName, leftMs: left };
    const vms = (vmsOf.get(String(person.id)) ?? []).sort((a, b) => a.vmid - b.vmid);
    if (vms.length === 0) rows.push({ ...base, vm: null, idleSince: null, weekMs: 0, lastAction: null });
    for (const a of vms) {
      const row = rowsOf.get(key(a));
      const last: GridLastAction | undefined = lastOf.get(key(a));
      rows.push({
        ...base,
        vm: {
          clusterId: a.clusterId,
          vmid: a.vmid,
          name: row?.name ?? `VM ${a.vmid}`,
          node: row?.node ?? '',
          status: row ? (row.goneAt === null ? row.status : 'gone') : 'unknown',
          ip: row?.ip ?? null,
          ready: row?.status === 'running' && (row.sshAvailable || row.rdpAvailable),
        },
        idleSince: row?.status === 'running' ? (idleOf.get(key(a)) ?? null) : null,
        weekMs: runningBetween(intervalsOf.get(key(a)) ?? [], weekStartsAt, now),
        lastAction: last ?? null,
      });
    }
  }
  rows.sort((x, y) => x.username.localeCompare(y.username) || (x.vm?.vmid ?? 0) - (y.vm?.vmid ?? 0));
  return { classId, name: klass.name, timezone, weekStartsAt, quotaMs, rows };
}

/** Monday 00:00 of the week of `now`, in `timezone`. */
export function weekStart(now: EpochMs, timezone: string): EpochMs {
  const [y, m, d] = localDate(now, timezone).split('-').map(Number) as [number, number, number];
  const daysSinceMonday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(y, m - 1, d - daysSinceMonday)).toISOString().slice(0, 10);
  const midnight = new Cron(`${monday}T00:00:00`, { timezone, paused: true }).nextRun(
    new Date(now - 8 * 24 * 3_600_000),
  );
  return midnight?.getTime() ?? now;
}

function runningBetween(intervals: readonly VmUsageIntervalRecord[], from: EpochMs, to: EpochMs): number {
  let total = 0;
  for (const i of intervals) total += Math.max(0, Math.min(i.endedAt ?? to, to) - Math.max(i.startedAt, from));
  return total;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(keyOf(item));
    if (list) list.push(item);
    else groups.set(keyOf(item), [item]);
  }
  return groups;
}

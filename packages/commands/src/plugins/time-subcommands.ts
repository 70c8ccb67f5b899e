import { z } from 'zod';
import {
  DEFAULT_IDLE_WARNING_MINUTES,
  DEFAULT_KEEPS_PER_SESSION,
  DEFAULT_MAX_SNAPSHOTS,
  classUsage,
  formatHours,
  keepVmRunning,
  classTimeZone,
  currentSession,
  formatLocalTime,
  nextSession,
  studentUsage,
  toCsv,
  costOf,
  formatCost,
  type ClassTimePolicyRecord,
  type ResourceHours,
  type StudentUsage,
} from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { decimalNumber, wholeNumber } from '../number-option.js';
import { myVmSubcommand } from './my-vms.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

const limit = (description: string, max: number) => decimalNumber(description, 0, max).optional().describe(description);
const wholeLimit = (description: string, max: number) =>
  wholeNumber(description, 0, max).optional().describe(description);

/** The idle rule in words: `below 5% CPU and nobody logged in for 30 min`, or `off`. */
const describeIdle = (p: ClassTimePolicyRecord): string => {
  const signals = [
    ...(p.idleCpuBelowPercent === null ? [] : [`below ${p.idleCpuBelowPercent}% CPU`]),
    ...(p.idleUsers ? ['nobody logged in'] : []),
  ];
  return p.idleForMinutes === null || signals.length === 0
    ? 'off'
    : `${signals.join(' and ')} for ${p.idleForMinutes} min`;
};

const onOff = (description: string) =>
  z.enum(['on', 'off'], { error: 'say on or off' }).optional().describe(description);

const describePolicy = (p: ClassTimePolicyRecord, defaultWarnMin: number): string =>
  [
    `quota ${p.quotaHours === null ? 'none' : `${p.quotaHours} h outside sessions`}`,
    `max running ${p.maxRunning ?? 'none'}`,
    `max running in class ${p.maxRunningInClass ?? 'none'}`,
    `idle ${describeIdle(p)}`,
    `open console ${p.consoleNeverIdle === false ? 'does not keep a VM on' : 'keeps a VM on'}`,
    `never connected ${p.neverConnectedMinutes == null ? 'off' : `stop after ${p.neverConnectedMinutes} min`}`,
    `warning ${p.idleWarnMinutes ?? defaultWarnMin} min before a stop${p.idleWarnMinutes === null ? ' (default)' : ''}`,
    `keeps ${p.keepsPerSession === 0 ? 'off' : `${p.keepsPerSession} per session`}`,
    `idle stop in sessions ${p.idleInSessions ? 'on' : 'off'}`,
    `snapshots ${(p.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS) === 0 ? 'unlimited' : `${p.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS} per VM`}`,
  ].join(', ');

/**
 * `/lab limits <class> [--quota-hours 10] [--max-running 1] [--idle-cpu 5] [--idle-minutes 30]
 * [--idle-users on|off] [--console-keeps-on on|off] [--never-connected-minutes 20]
 * [--idle-warn-minutes 10] [--keeps-per-session 1] [--idle-in-sessions on|off] [--max-snapshots 3]`:
 * shows or changes the class's limits (0 turns a limit off — snapshots too —, puts the warning delay
 * back to the default, and allows no keep). Idle stops happen outside scheduled sessions only, unless
 * `--idle-in-sessions on`. A VM is idle when every idle signal turned on agrees (CPU, nobody logged
 * in), and never while a console of ours is open (unless `--console-keeps-on off`).
 */
export const limitsSubcommand = subcommand({
  description: 'Limits: quota hours, running VMs, idle stop, warning delay, keeps, snapshots per VM (0 = off)',
  options: z.object({
    class: classId,
    'quota-hours': limit('hours per student outside sessions', 10_000),
    'max-running': wholeLimit('VMs a student may run at once', 100),
    'class-max-running': wholeLimit('student VMs of the class running at once outside sessions', 10_000),
    'idle-cpu': limit('CPU percent below which a VM is idle', 100),
    'idle-minutes': wholeLimit('minutes idle before the warning', 10_000),
    'idle-users': onOff("idle also needs nobody logged in, per the VM's guest agent: on or off (default off)"),
    'console-keeps-on': onOff('an open console session keeps a VM from idle stops: on or off (default on)'),
    'never-connected-minutes': wholeLimit(
      'stop a started VM nobody connected to within this many minutes, after a warning (0 = off, the default)',
      1_440,
    ),
    'idle-warn-minutes': wholeLimit('minutes from an idle or quota warning to the stop (0 = the default)', 1_440),
    'keeps-per-session': wholeLimit('times a student may keep a VM past its idle warning per session (0 = never)', 100),
    'max-snapshots': wholeLimit(
      `snapshots a student may keep per VM (default ${DEFAULT_MAX_SNAPSHOTS}; 0 = no limit)`,
      100,
    ),
    'idle-in-sessions': z
      .enum(['on', 'off'], { error: 'say on or off' })
      .optional()
      .describe('idle warnings and stops during scheduled sessions too: on or off (default off)'),
  }),
  positional: ['class'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'change the limits of');
    const { store } = ctx.services;
    const before: ClassTimePolicyRecord = (await store.usage.policy(o.class)) ?? {
      classId: o.class,
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: null,
      idleForMinutes: null,
      keepsPerSession: DEFAULT_KEEPS_PER_SESSION,
      idleWarnMinutes: null,
    };
    const pick = (given: number | undefined, old: number | null) =>
      given === undefined ? old : given === 0 ? null : given;
    const after: ClassTimePolicyRecord = {
      classId: o.class,
      quotaHours: pick(o['quota-hours'], before.quotaHours),
      maxRunning: pick(o['max-running'], before.maxRunning),
      maxRunningInClass: pick(o['class-max-running'], before.maxRunningInClass),
      idleCpuBelowPercent: pick(o['idle-cpu'], before.idleCpuBelowPercent),
      idleForMinutes: pick(o['idle-minutes'], before.idleForMinutes),
      keepsPerSession: o['keeps-per-session'] ?? before.keepsPerSession,
      idleWarnMinutes: pick(o['idle-warn-minutes'], before.idleWarnMinutes),
      ...((o['max-snapshots'] ?? before.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS) !== DEFAULT_MAX_SNAPSHOTS
        ? { maxSnapshots: o['max-snapshots'] ?? before.maxSnapshots! }
        : {}),
      ...((o['idle-in-sessions'] ?? (before.idleInSessions ? 'on' : 'off')) === 'on' ? { idleInSessions: true } : {}),
      ...((o['idle-users'] ?? (before.idleUsers ? 'on' : 'off')) === 'on' ? { idleUsers: true } : {}),
      ...((o['console-keeps-on'] ?? (before.consoleNeverIdle === false ? 'off' : 'on')) === 'off'
        ? { consoleNeverIdle: false }
        : {}),
      ...(pick(o['never-connected-minutes'], before.neverConnectedMinutes ?? null) !== null
        ? { neverConnectedMinutes: pick(o['never-connected-minutes'], before.neverConnectedMinutes ?? null) }
        : {}),
    };
    const changed = JSON.stringify(after) !== JSON.stringify(before);
    if (changed) await store.usage.savePolicy(after);
    return {
      text: `${o.class}: ${describePolicy(after, ctx.services.scheduler?.idleWarningMinutes ?? DEFAULT_IDLE_WARNING_MINUTES)}.`,
      data: after,
    };
  },
});

/** One student's row of `/lab usage`, as `data` gives it. */
interface UsageRow extends StudentUsage {
  username: string | null;
  /** The cost estimate of the student's running time; null without `costs` in lab.config.json. */
  cost: number | null;
}

/**
 * `/lab usage <class> [--csv]`: each student's hours outside sessions, top-ups, what is left, what
 * runs now and, with `costs` configured, the cost estimate per student and for the class (from the
 * store). `--csv` gives one row per student as a file (Slack uploads it, Discord attaches it, the CLI
 * prints it).
 */
export const labUsageSubcommand = subcommand({
  description: "Students' VM hours outside sessions, top-ups, hours left, running VMs and cost",
  options: z.object({
    class: classId,
    csv: z
      .boolean()
      .default(false)
      .describe(
        'as a CSV file (username,name,email,role,class,hours_used,hours_left,running_vms,top_up_hours,hours_total,cost,currency; people import reads it back)',
      ),
  }),
  positional: ['class'],
  role: 'teacher',
  ephemeral: true,
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'see the usage of');
    const { store, clock, costs } = ctx.services;
    const now = clock.now();
    const people = new Map((await store.classes.listPeople()).map((p) => [p.id, p]));
    const rows: UsageRow[] = (await classUsage(store, o.class, now)).map((r) => ({
      ...r,
      username: people.get(r.personId)?.username ?? null,
      cost: costs ? costOf(r.resources, costs) : null,
    }));
    const total = costs ? costOf(sumResources(rows), costs) : null;
    if (o.csv) {
      const hours = (ms: number | null) => (ms === null ? '' : (ms / 3_600_000).toFixed(2));
      const csv = toCsv([
        [
          'username',
          'name',
          'email',
          'role',
          'class',
          'hours_used',
          'hours_left',
          'running_vms',
          'top_up_hours',
          'hours_total',
          'cost',
          'currency',
        ],
        ...rows.flatMap((r) => {
          const p = people.get(r.personId);
          return p
            ? [
                [
                  p.username,
                  p.displayName,
                  p.email ?? '',
                  p.role,
                  o.class,
                  hours(r.usedMs),
                  hours(r.leftMs),
                  r.running,
                  r.topUpHours.toFixed(2),
                  hours(r.runMs),
                  r.cost === null ? '' : r.cost.toFixed(2),
                  costs?.currency ?? '',
                ],
              ]
            : [];
        }),
      ]);
      return {
        text: csv.trimEnd(),
        data: { classId: o.class, csv },
        attachments: [{ filename: `${o.class}-usage.csv`, contentType: 'text/csv', content: csv }],
      };
    }
    const schedules = await store.schedules.list(o.class);
    const next = nextSession(schedules, now);
    const lines = rows.map(
      (r) =>
        `${r.username ?? `#${r.personId}`}: ${formatHours(r.usedMs)} used${r.leftMs === null ? '' : `, ${formatHours(r.leftMs)} left`}${r.topUpHours > 0 ? ` (top-ups +${formatHours(r.topUpHours * 3_600_000)})` : ''}, ${r.running} running${r.cost === null ? '' : `; ${formatHours(r.runMs)} in all, about ${formatCost(r.cost, costs!)}`}`,
    );
    return {
      text: [
        `${o.class} usage outside sessions:`,
        ...(lines.length ? lines : ['(no students)']),
        ...(total !== null && costs
          ? [
              `Cost estimate for ${o.class}: about ${formatCost(total, costs)} (all running time, sessions included, at ${costs.perVcpuHour} ${costs.currency} per vCPU hour and ${costs.perGiBHour} ${costs.currency} per GiB hour).`,
            ]
          : []),
        ...(next
          ? [`Next session: ${formatLocalTime(next.start, classTimeZone(schedules, ctx.services.timezone))}.`]
          : []),
      ].join('\n'),
      data: rows,
    };
  },
});

function sumResources(rows: readonly UsageRow[]): ResourceHours {
  return rows.reduce(
    (sum, r) => ({ vcpuHours: sum.vcpuHours + r.resources.vcpuHours, gibHours: sum.gibHours + r.resources.gibHours }),
    { vcpuHours: 0, gibHours: 0 },
  );
}

/** `/myvm usage`: the caller's hours outside sessions and what is left, per class. */
export const myvmUsageSubcommand = subcommand({
  description: 'Your VM hours outside class sessions and the hours left',
  options: z.object({}),
  positional: [],
  role: 'student',
  ephemeral: true,
  async run(ctx) {
    const { store, clock } = ctx.services;
    const now = clock.now();
    const personId = ctx.caller.person.id;
    const classes = [
      ...new Set(
        (await store.classes.assignmentsOf(personId))
          .filter((a) => a.role === 'student' && a.classId)
          .map((a) => a.classId!),
      ),
    ].sort();
    if (classes.length === 0) return { text: 'You have no class VM yet.', data: [] };
    const rows = await Promise.all(classes.map((c) => studentUsage(store, c, personId, now)));
    const lines = await Promise.all(
      rows.map(async (r) => {
        const schedules = await store.schedules.list(r.classId);
        const zoneOf = (scheduleId: number) =>
          classTimeZone(
            schedules.filter((s) => s.id === scheduleId),
            ctx.services.timezone,
          );
        const running = currentSession(schedules, now);
        const next = running ? undefined : nextSession(schedules, now);
        const when = running
          ? `; in session until ${formatLocalTime(running.end, zoneOf(running.scheduleId))}`
          : next
            ? `; next session ${formatLocalTime(next.start, zoneOf(next.scheduleId))}`
            : '';
        return `${r.classId}: ${formatHours(r.usedMs)} used outside sessions${r.leftMs === null ? ' (no limit)' : `, ${formatHours(r.leftMs)} left`}${when}.`;
      }),
    );
    return { text: lines.join('\n'), data: rows };
  },
});

/** `/myvm keep [vm]`: keeps the caller's VM running past an idle warning (as often per session as its class allows). */
export const myvmKeepSubcommand = myVmSubcommand({
  description: 'Keep your VM running after an idle warning (as often per session as your class allows)',
  verb: 'keep',
  async run(ctx, chosen) {
    const result = await keepVmRunning(
      ctx.services.store,
      { ...ctx.caller.viewer, role: 'student' },
      chosen.clusterId,
      chosen.vmid,
      ctx.services.clock.now(),
    );
    const left =
      result.keepsLeft === null
        ? ''
        : ` You can keep it ${result.keepsLeft === 0 ? 'no more times' : result.keepsLeft === 1 ? 'once more' : `${result.keepsLeft} more times`} this session.`;
    return {
      text: `${chosen.name} keeps running${result.postponed ? '; its idle stop is cancelled' : ''}. If it stays idle, you will be warned again.${left}`,
      data: { vmid: chosen.vmid, ...result },
    };
  },
});

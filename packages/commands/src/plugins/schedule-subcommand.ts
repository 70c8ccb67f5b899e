import { z } from 'zod';
import {
  assertDate,
  assertTimeZone,
  checkNewSchedule,
  classTimeZone,
  describeSchedule,
  formatLocalTime,
  nextSession,
  parseMinutes,
  parseScheduleSpec,
} from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { listOf } from './onboarding-options.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

/**
 * `/lab schedule <class> add "mon,wed 09:00-10:30" [--tz Europe/Berlin] [--start-before 10m]
 * [--skip 2026-12-24]`, `list`, `remove <id>`: the class's weekly sessions. The lease holder's
 * `ClassScheduler` starts the student VMs before each session and stops them after it.
 */
export const scheduleSubcommand = subcommand({
  description: 'Class sessions: add "mon,wed 09:00-10:30" [--tz] [--start-before 10m] [--skip date], list, remove <id>',
  options: z.object({
    class: classId,
    action: z.enum(['add', 'list', 'remove'], { error: 'say add, list or remove' }).describe('add, list or remove'),
    spec: z
      .string()
      .optional()
      .describe(
        'days and times, e.g. "mon,wed 09:00-10:30", or a one-off date and times, e.g. "2026-12-18 13:00-16:00"; or the schedule id to remove',
      ),
    tz: z.string().optional().describe("time zone, e.g. Europe/Berlin (default: the lab's timezone setting, else UTC)"),
    'start-before': z.string().optional().describe('how early VMs start, e.g. 10m (default 10m)'),
    skip: listOf(z.string(), 'dates with no session, YYYY-MM-DD')
      .optional()
      .describe('dates with no session, YYYY-MM-DD'),
  }),
  positional: ['class', 'action', 'spec'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'change the schedule of');
    const { store, clock } = ctx.services;
    if (o.action === 'list') {
      const list = await store.schedules.list(o.class);
      if (list.length === 0)
        return {
          text: `${o.class} has no schedule. Add one: /lab schedule ${o.class} add "mon,wed 09:00-10:30" --tz Europe/Berlin`,
          data: [],
        };
      const next = nextSession(list, clock.now());
      const timezone = classTimeZone(list, ctx.services.timezone);
      const zones = [...new Set(list.map((s) => s.timezone))];
      return {
        text: [
          ...list.map((s) => `${s.id}. ${describeSchedule(s)}`),
          ...(zones.length > 1
            ? [
                `These schedules are in different time zones (${zones.join(', ')}): each line's times are in its own zone. Times below are in ${timezone}.`,
              ]
            : []),
          ...(next
            ? [
                `Next session: ${formatLocalTime(next.start, timezone)} (VMs start at ${formatLocalTime(next.warmupAt, timezone)}).`,
              ]
            : []),
        ].join('\n'),
        data: { schedules: list, next },
      };
    }
    if (o.action === 'remove') {
      const id = Number(o.spec);
      if (!Number.isInteger(id))
        return {
          text: `Say which schedule: /lab schedule ${o.class} remove 1 (see /lab schedule ${o.class} list).`,
          error: true,
          ephemeral: true,
        };
      const removed = await store.schedules.remove(o.class, id);
      return removed
        ? {
            text: `Removed schedule ${id} of ${o.class}; its VMs are no longer started or stopped by it.`,
            data: { id },
          }
        : {
            text: `${o.class} has no schedule ${id}; see /lab schedule ${o.class} list.`,
            error: true,
            ephemeral: true,
          };
    }
    if (!o.spec)
      return {
        text: `Give the days and times: /lab schedule ${o.class} add "mon,wed 09:00-10:30".`,
        error: true,
        ephemeral: true,
      };
    const spec = parseScheduleSpec(o.spec);
    const timezone = o.tz ?? ctx.services.timezone ?? 'UTC';
    assertTimeZone(timezone);
    const skipDates = (o.skip ?? [])
      .flatMap((d) => d.split(','))
      .map((d) => d.trim())
      .filter(Boolean);
    skipDates.forEach(assertDate);
    const startBeforeMin = parseMinutes(o['start-before'] ?? '10m');
    const draft = {
      classId: o.class,
      ...spec,
      timezone,
      startBeforeMin,
      skipDates,
      createdBy: ctx.caller.person.username,
      createdAt: clock.now(),
    };
    const { next, overlapping, daylightSaving } = checkNewSchedule(
      { id: 0, ...draft },
      await store.schedules.list(o.class),
      clock.now(),
    );
    const record = await store.schedules.add(draft);
    const when =
      next.start <= clock.now()
        ? ` In session now, until ${formatLocalTime(next.end, record.timezone)}.`
        : ` Next session: ${formatLocalTime(next.start, record.timezone)}.`;
    const overlapNote = overlapping.length
      ? ` Its sessions overlap schedule ${overlapping.map((s) => s.id).join(', ')}; remove one with /lab schedule ${o.class} remove <id> if that was not meant.`
      : '';
    const dstNote = daylightSaving.length ? `\nDaylight saving: ${daylightSaving.join('; ')}.` : '';
    return {
      text: `Added schedule ${record.id} of ${o.class}: ${describeSchedule(record)}.${when}${overlapNote}${dstNote}`,
      data: { schedule: record, next, overlapping: overlapping.map((s) => s.id), daylightSaving },
    };
  },
});

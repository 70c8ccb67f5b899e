import { z } from 'zod';
import { classTimeZone, formatLocalTime, type AuditRecord } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { classId, classNames, mustTeach } from './teacher-access.js';
import { usernameOption } from './onboarding-options.js';

/** The most entries one answer lists for an admin. */
const SHOWN = 200;
/** The entries a teacher's `/lab audit <class>` lists (the portal pages the rest). */
const TEACHER_SHOWN = 20;
/** How far back an admin's answer looks unless told. */
const DEFAULT_HOURS = 168;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The furthest back a duration given to `--since` reaches (ten years); a date reaches further. */
const MAX_SINCE_DAYS = 3650;
const DURATION = /^(\d+)([mhd])$/;

/** `--since`: `7d`, `24h`, `90m` (up to `MAX_SINCE_DAYS`), a date (`2026-12-01`, midnight UTC) or a full ISO time; refused otherwise. */
const sinceOption = z
  .string()
  .regex(
    /^(\d{1,7}[mhd]|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)$/,
    'since looks like 7d, 24h, 90m, 2026-12-01 or 2026-12-01T08:00Z',
  )
  .refine(
    (text) => !DURATION.test(text) || durationMs(text) <= MAX_SINCE_DAYS * UNIT_MS.d!,
    `a duration goes back at most ${MAX_SINCE_DAYS}d (ten years; ${MAX_SINCE_DAYS * 24}h, ${MAX_SINCE_DAYS * 24 * 60}m); give a date such as 2016-01-01 to look further back`,
  )
  .refine((text) => DURATION.test(text) || isCalendarDate(text), 'not a date on the calendar')
  .describe('from when: 7d, 24h, 90m or a date such as 2026-12-01');

/** Whether an ISO date or time names a real day (`2026-02-30` does not, though `Date.parse` rolls it over). */
function isCalendarDate(text: string): boolean {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(Date.parse(text.slice(0, 10))).toISOString().startsWith(text.slice(0, 10));
}

function durationMs(text: string): number {
  const [, amount, unit] = DURATION.exec(text)!;
  return Number(amount) * UNIT_MS[unit!]!;
}

function sinceMs(text: string, now: number): number {
  return DURATION.test(text) ? now - durationMs(text) : Date.parse(text);
}

/**
 * `/lab audit [class] [--person alice] [--action vm.start] [--since 7d | --hours 24]`: who did what,
 * newest first. Admins see the whole log (a week back unless told, up to 200 entries); a teacher
 * names one of their classes and sees its latest 20 entries. A class filter keeps entries about the
 * class's VMs or naming the class; times are in the class's zone when one is named.
 */
export const auditSubcommand = subcommand({
  description: 'The audit log, newest first: a class (teachers: latest 20), person, action, since',
  options: z.object({
    class: classId.optional(),
    person: usernameOption.optional().describe('who acted (lab username, or e.g. scheduler)'),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9.-]{0,60}$/, 'an action looks like vm.start or command.lab.deploy')
      .optional()
      .describe('the action, e.g. vm.start'),
    since: sinceOption.optional(),
    hours: wholeNumber('how many hours back (default 168, a week, for admins)', 1, 24 * 366).optional(),
    page: wholeNumber('which page of older entries (1: the newest)', 1, 1000).optional(),
  }),
  positional: ['class'],
  role: 'teacher',
  ephemeral: true,
  autocomplete: { class: classNames },
  async run(ctx, o) {
    const { store, clock } = ctx.services;
    const admin = ctx.caller.viewer.role === 'admin';
    if (!admin && !o.class)
      return {
        text: 'Name one of your classes, e.g. /lab audit cs101; the whole audit log is for admins.',
        ephemeral: true,
        error: true,
      };
    if (o.class) await mustTeach(ctx, o.class, 'read the audit log of');
    if (o.since && o.hours) return { text: 'Give --since or --hours, not both.', ephemeral: true, error: true };
    const now = clock.now();
    const since =
      o.since !== undefined
        ? sinceMs(o.since, now)
        : o.hours !== undefined || admin
          ? now - (o.hours ?? DEFAULT_HOURS) * 3_600_000
          : undefined;
    const shownMax = admin ? SHOWN : TEACHER_SHOWN;
    const page = o.page ?? 1;
    const skip = (page - 1) * shownMax;
    // One entry more than a page tells whether an older page exists.
    const entries = await store.audit.list({
      ...(o.person ? { actor: o.person } : {}),
      ...(o.action ? { action: o.action } : {}),
      ...(since !== undefined ? { since } : {}),
      limit: o.class ? 5_000 : skip + shownMax + 1,
    });
    let matching: AuditRecord[] = entries;
    let timezone = ctx.services.timezone ?? 'UTC';
    if (o.class) {
      const vms = new Set(
        (await store.classes.assignmentsOfClass(o.class)).flatMap((a) => [
          `${a.clusterId}/${a.vmid}`,
          `vm ${a.clusterId}/${a.vmid}`,
        ]),
      );
      const names = (e: AuditRecord) =>
        vms.has(e.target) ||
        e.target === o.class ||
        e.target === `class ${o.class}` ||
        (e.details.options as { class?: unknown } | undefined)?.class === o.class ||
        e.details.classId === o.class;
      matching = entries.filter(names);
      timezone = classTimeZone(await store.schedules.list(o.class), ctx.services.timezone);
    }
    const shown = matching.slice(skip, skip + shownMax);
    const olderPage = matching.length > skip + shownMax ? page + 1 : null;
    const lines = shown.map(
      (e) => `${formatLocalTime(e.at, timezone)} ${e.actor} ${e.action} ${e.target}: ${e.outcome}`,
    );
    const more =
      olderPage !== null
        ? [
            `(${page === 1 ? `the latest ${shownMax}` : `page ${page}`}; older ones with --page ${olderPage}, or narrow with --person, --action or --since)`,
          ]
        : [];
    return {
      text: lines.length ? [...lines, ...more].join('\n') : 'No audit entries match.',
      data: { timezone, entries: shown, page, olderPage },
    };
  },
});

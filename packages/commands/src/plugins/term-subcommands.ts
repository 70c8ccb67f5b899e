import { z } from 'zod';
import {
  archiveClass,
  confirmTermDestroy,
  destroyRefusal,
  formatLocalTime,
  graceEndsAt,
  setClassEnd,
  termEndsAt,
  termVms,
  type ClassTermRecord,
} from '@lab/proxmox-sdk';
import { TermNotOverError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { classIdOption, classNamed, manageableClasses, mustTeachClass } from './onboarding-options.js';

const termDeps = (ctx: CommandContext) => ({
  store: ctx.services.store,
  clock: ctx.services.clock,
  ...(ctx.services.timezone ? { timezone: ctx.services.timezone } : {}),
  ...(ctx.services.termGraceDays !== undefined ? { defaultGraceDays: ctx.services.termGraceDays } : {}),
});

/** One line on where a class's term stands, for `class show` and `set-end`. */
export function describeTerm(term: ClassTermRecord | undefined): string {
  if (!term?.endsOn) return term?.archivedAt ? 'archived' : 'no end date';
  const end = formatLocalTime(termEndsAt(term)!, term.timezone);
  const grace = formatLocalTime(graceEndsAt(term)!, term.timezone);
  return `ends on ${term.endsOn} (its student VMs stop at ${end}); its VMs may be destroyed, once a teacher or admin confirms, from ${grace} (${term.graceDays}-day grace period)${term.destroyConfirmedBy ? `; destroy confirmed by ${term.destroyConfirmedBy}` : ''}${term.archivedAt ? '; archived' : ''}`;
}

/** `class set-end <class> <YYYY-MM-DD|none> [--grace-days 14]`: the class's last day, in its time zone. */
export const setEndSubcommand = subcommand({
  description:
    "Set a class's last day (YYYY-MM-DD in its time zone; none clears it): VMs stop after it (teachers of the class)",
  options: z.object({
    class: classIdOption,
    date: z
      .string()
      .trim()
      .regex(/^(\d{4}-\d{2}-\d{2}|none|clear)$/i, 'write the date as YYYY-MM-DD (e.g. 2027-06-30), or none to clear it')
      .describe("the class's last day, YYYY-MM-DD in the class's time zone, or none to clear it"),
    'grace-days': wholeNumber(
      "days the VMs are kept after the end before they may be destroyed (default: lab.config's endOfTerm.graceDays, 14)",
      0,
      365,
    ).optional(),
  }),
  positional: ['class', 'date'],
  role: 'teacher',
  autocomplete: { class: manageableClasses },
  async run(ctx, o) {
    await mustTeachClass(ctx, o.class, 'set the end date of');
    await classNamed(ctx, o.class);
    const clear = /^(none|clear)$/i.test(o.date.trim());
    const term = await setClassEnd(termDeps(ctx), {
      classId: o.class,
      endsOn: clear ? null : o.date,
      ...(o['grace-days'] !== undefined ? { graceDays: o['grace-days'] } : {}),
      actor: ctx.caller.viewer.username,
    });
    return {
      text: clear
        ? `${o.class} has no end date any more: nothing stops or is destroyed at the end of term.`
        : `${o.class} ${describeTerm(term)}. Its teachers are reminded 14, 3 and 1 days before (times in ${term.timezone}).`,
      data: term,
    };
  },
});

/** `class destroy-vms <class>`: after the grace period, lists the class's VMs and asks to confirm destroying them. */
export const destroyVmsSubcommand = subcommand({
  description: "Destroy a class's VMs after its end and grace period (asks to confirm; lab serve does it)",
  options: z.object({ class: classIdOption }),
  positional: ['class'],
  role: 'teacher',
  autocomplete: { class: manageableClasses },
  async run(ctx, o) {
    await mustTeachClass(ctx, o.class, 'destroy the VMs of');
    await classNamed(ctx, o.class);
    const { store, clock } = ctx.services;
    const term = await store.classTerms.get(o.class);
    const refusal = destroyRefusal(term, clock.now());
    if (refusal) throw new TermNotOverError({ classId: o.class, reason: refusal });
    const vms = await termVms(store, o.class);
    if (!vms.length)
      return {
        text: `${o.class} has no VMs left. class archive ${o.class} keeps its roster, usage and audit log and hides it from the active lists.`,
        data: { classId: o.class, vms: [] },
      };
    const lines = vms.map((v) => `  ${v.name} (${v.vmid}, ${v.role}${v.owner ? `, ${v.owner}` : ''}, ${v.status})`);
    if (!ctx.confirmed)
      return {
        text: [`These ${vms.length} VM(s) of ${o.class} will be destroyed, with their disks:`, ...lines].join('\n'),
        data: { classId: o.class, vms: vms.map((v) => ({ vmid: v.vmid, name: v.name, role: v.role })) },
        confirm: {
          prompt: `Destroy ${vms.length} VM(s) of ${o.class}? Their contents are lost.`,
          action: `Destroy ${vms.length} VM(s)`,
        },
      };
    const confirmed = await confirmTermDestroy(termDeps(ctx), { classId: o.class, actor: ctx.caller.viewer.username });
    return {
      text: `Confirmed: lab serve destroys the ${confirmed.vms.length} VM(s) of ${o.class} in its next scheduler round, and tells its teachers when they are gone. Then class archive ${o.class} keeps its roster, usage and audit log.`,
      data: { classId: o.class, vms: confirmed.vms.map((v) => ({ vmid: v.vmid, name: v.name, role: v.role })) },
    };
  },
});

/** `class archive <class>`: keeps the roster, usage and audit log of a class with no VMs left, and hides it. */
export const archiveSubcommand = subcommand({
  description:
    'Archive a class with no VMs left: roster, usage and audit log kept, hidden from class list (teachers of the class)',
  options: z.object({ class: classIdOption }),
  positional: ['class'],
  role: 'teacher',
  autocomplete: { class: manageableClasses },
  async run(ctx, o) {
    await mustTeachClass(ctx, o.class, 'archive');
    await classNamed(ctx, o.class);
    const term = await archiveClass(termDeps(ctx), { classId: o.class, actor: ctx.caller.viewer.username });
    return {
      text: `${o.class} is archived: its roster, usage and audit log stay (class export ${o.class} still works); class list shows it with --archived.`,
      data: term,
    };
  },
});

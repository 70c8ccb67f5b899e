import { z } from 'zod';
import { isLabError, type PowerAction } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { listOf, usernameOption } from './onboarding-options.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

const ACTIONS: Record<'start' | 'stop' | 'restart', PowerAction> = { start: 'start', stop: 'stop', restart: 'reboot' };

/**
 * `/lab power <start|stop|restart> <class> <students…>` (or `--all`): a teacher starts, stops or
 * restarts the VMs of some or all students of a class they teach. Each VM goes through `VmPower`
 * as the teacher (ownership and audit there); one VM failing does not stop the others.
 */
export const classPowerSubcommand = subcommand({
  description: 'Start, stop or restart the VMs of students of your class',
  options: z.object({
    action: z
      .enum(['start', 'stop', 'restart'], { error: 'say start, stop or restart' })
      .describe('start, stop or restart'),
    class: classId,
    students: listOf(usernameOption, 'the students whose VMs to act on').optional(),
    all: z.boolean().optional().describe('every student VM of the class'),
  }),
  positional: ['action', 'class', 'students'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, `${o.action} VMs of`);
    if (!o.students === !o.all)
      return {
        text: `Name students or --all: /lab power ${o.action} ${o.class} alice bob, or /lab power ${o.action} ${o.class} --all.`,
        error: true,
      };
    const { store, power } = ctx.services;
    const assignments = (await store.classes.assignmentsOfClass(o.class)).filter((a) => a.role === 'student');
    const people = new Map(
      (
        await store.classes.getPeople([
          ...new Set(assignments.flatMap((a) => (a.personId === null ? [] : [a.personId]))),
        ])
      ).map((p) => [p.id, p.username]),
    );
    const wanted = o.students ? new Set(o.students) : undefined;
    const chosen = assignments.filter((a) => !wanted || wanted.has(people.get(a.personId ?? -1) ?? ''));
    const missing = o.students?.filter((s) => !chosen.some((a) => people.get(a.personId ?? -1) === s)) ?? [];
    if (chosen.length === 0)
      return { text: `No VM of ${o.class} belongs to ${o.students?.join(', ') ?? 'a student'}.`, error: true };
    const results = await Promise.allSettled(
      chosen.map((a) => power.perform(ctx.caller.viewer, a.clusterId, a.vmid, ACTIONS[o.action])),
    );
    const why = (reason: unknown): string => {
      if (isLabError(reason)) return reason.message;
      ctx.services.logger.error('class power action failed', { class: o.class, error: reason });
      return 'something went wrong on our side; the error was logged';
    };
    const lines = results.map((r, i) => {
      const a = chosen[i]!;
      const who = people.get(a.personId ?? -1) ?? `VM ${a.vmid}`;
      return r.status === 'fulfilled'
        ? `${who}: VM ${a.vmid} is ${r.value.status}.`
        : `${who}: VM ${a.vmid} — ${why(r.reason)}`;
    });
    const failed = results.filter((r) => r.status === 'rejected').length;
    return {
      text: [...lines, ...(missing.length ? [`No VM of ${o.class} for ${missing.join(', ')}.`] : [])].join('\n'),
      data: results.map((r, i) => ({
        vmid: chosen[i]!.vmid,
        username: people.get(chosen[i]!.personId ?? -1) ?? null,
        ok: r.status === 'fulfilled',
        ...(r.status === 'fulfilled' ? { status: r.value.status } : { error: why(r.reason) }),
      })),
      ...(failed === results.length ? { error: true } : {}),
    };
  },
});

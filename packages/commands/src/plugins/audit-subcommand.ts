import { z } from 'zod';
import { classTimeZone, formatLocalTime, type AuditRecord } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { classId } from './teacher-access.js';
import { usernameOption } from './onboarding-options.js';

/** The most entries one answer lists. */
const SHOWN = 200;

/**
 * `/lab audit [--class cs101] [--person alice] [--action vm.start] [--hours 24]`: who did what,
 * newest first, for admins. A class filter keeps entries about the class's VMs or naming the class;
 * times are in the class's zone when one is named.
 */
export const auditSubcommand = subcommand({
  description: 'The audit log, newest first: filter by class, person, action and hours back',
  options: z.object({
    class: classId.optional(),
    person: usernameOption.optional().describe('who acted (lab username, or e.g. scheduler)'),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9.-]{0,60}$/, 'an action looks like vm.start or command.lab.deploy')
      .optional()
      .describe('the action, e.g. vm.start'),
    hours: wholeNumber('how many hours back (default 168, a week)', 1, 24 * 366).optional(),
  }),
  positional: [],
  role: 'admin',
  ephemeral: true,
  async run(ctx, o) {
    const { store, clock } = ctx.services;
    const since = clock.now() - (o.hours ?? 168) * 3_600_000;
    const entries = await store.audit.list({
      ...(o.person ? { actor: o.person } : {}),
      ...(o.action ? { action: o.action } : {}),
      since,
      limit: o.class ? 5_000 : SHOWN,
    });
    let shown: AuditRecord[] = entries;
    let timezone = 'UTC';
    if (o.class) {
      const vms = new Set((await store.classes.assignmentsOfClass(o.class)).map((a) => `${a.clusterId}/${a.vmid}`));
      const names = (e: AuditRecord) =>
        vms.has(e.target) ||
        e.target === o.class ||
        e.target === `class ${o.class}` ||
        (e.details.options as { class?: unknown } | undefined)?.class === o.class ||
        e.details.classId === o.class;
      shown = entries.filter(names).slice(0, SHOWN);
      timezone = classTimeZone(await store.schedules.list(o.class));
    }
    const lines = shown.map(
      (e) => `${formatLocalTime(e.at, timezone)} ${e.actor} ${e.action} ${e.target}: ${e.outcome}`,
    );
    return {
      text: lines.length ? lines.join('\n') : 'No audit entries match.',
      data: { timezone, entries: shown },
    };
  },
});

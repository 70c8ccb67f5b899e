import { z } from 'zod';
import type { ResetPlan } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext } from '../command-plugin.js';
import { DeploymentProgress } from '../deployment-progress.js';
import { progressRunOptions } from '../keep-progress-ref.js';
import { renderFinishedDeployment } from '../render.js';
import { listResetVms, runReset } from './reset-subcommands.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

const day = (ms: number | null): string => (ms === null ? 'date unknown' : new Date(ms).toISOString().slice(0, 10));

/**
 * `/lab publish <class> [--note …] [--snapshot|--shutdown]`: the teacher VM becomes the class's next
 * base version (`cs101-base-v2`). A running teacher VM is copied from a snapshot (`--snapshot`) or
 * after a clean shutdown (`--shutdown`; without either flag the shutdown is confirmed first).
 */
export const publishSubcommand = subcommand({
  description: 'Publish the teacher VM as the class’s next template version (students are not disturbed)',
  options: z.object({
    class: classId,
    note: z.string().max(200).optional().describe('what changed in this version'),
    snapshot: z.boolean().optional().describe('copy a snapshot of the running teacher VM (it keeps running)'),
    shutdown: z.boolean().optional().describe('shut the teacher VM down cleanly for the copy, then start it again'),
    role: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a role is lower-case letters, digits or dashes, e.g. target')
      .optional()
      .describe('the role whose teacher VM is published (classes with several VMs per student)'),
  }),
  positional: ['class'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'publish a template of');
    if (o.snapshot && o.shutdown)
      return { text: 'Choose --snapshot or --shutdown, not both.', ephemeral: true, error: true };
    const { engine } = ctx.services;
    const lab = await engine.labDefinition(o.class);
    if (lab ? !lab.roles.some((r) => r.name === o.role) : o.role)
      return {
        text: lab
          ? `${o.class} has a teacher VM per role; say which: ${lab.roles.map((r) => `/lab publish ${o.class} --role ${r.name}`).join(', ')}`
          : `${o.class} has one VM per student; leave out --role.`,
        ephemeral: true,
        error: true,
      };
    const plan = await engine.planPublish({
      classId: o.class,
      ...(o.role ? { labRole: o.role } : {}),
      ...(o.note ? { note: o.note } : {}),
      mode: o.snapshot ? 'snapshot' : 'shutdown',
      requestedBy: ctx.caller.person.username,
    });
    if (plan.teacher.running && !o.snapshot && !o.shutdown && !ctx.confirmed) {
      return {
        text: `${plan.teacher.name} is running. Publishing ${plan.name} shuts it down cleanly, copies it and starts it again (or publish with --snapshot to copy a snapshot while it runs).`,
        confirm: { prompt: `Shut down ${plan.teacher.name} to publish ${plan.name}?`, action: `Shut down and publish` },
        data: { name: plan.name, teacher: plan.teacher },
      };
    }
    const progress = new DeploymentProgress({
      label: plan.name,
      total: 1 + plan.replicateTo.length,
      progress: ctx.progress,
    });
    progress.start(plan.snapname ? 'snapshot' : plan.teacher.running ? 'shutting down' : 'copying');
    const run = await engine.applyPublish(plan, progressRunOptions(ctx, progress));
    const summary = await run.done;
    const text = renderFinishedDeployment({ spec: plan }, summary);
    if (summary.status !== 'done') return { text, data: summary, error: true, failed: true };
    return { text, data: { plan, summary } };
  },
});

/** `/lab rebuild <class>`: every student VM re-created from the newest base version (asks to confirm). */
export const rebuildSubcommand = subcommand({
  description: 'Re-create every student VM from the newest template version (asks to confirm; their contents are lost)',
  options: z.object({ class: classId }),
  positional: ['class'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'rebuild');
    // A class with several VMs per student rebuilds role by role, each from the role's newest base.
    const lab = await ctx.services.engine.labDefinition(o.class);
    const plans: ResetPlan[] = [];
    for (const role of lab ? lab.roles.map((r) => r.name) : [undefined]) {
      const plan: ResetPlan = {
        ...(await ctx.services.engine.planReset({
          classId: o.class,
          all: true,
          ...(role ? { labRole: role } : {}),
          requestedBy: ctx.caller.person.username,
        })),
        action: 'rebuild',
      };
      if (plan.vms.length > 0 || !lab) plans.push(plan);
    }
    const vms = plans.flatMap((p) => p.vms);
    if (vms.length === 0) return { text: `${o.class} has no student VM to rebuild.`, ephemeral: true };
    const bases = plans.map((p) => p.base.name).join(', ');
    if (!ctx.confirmed) {
      return {
        text: [
          `Rebuilding ${o.class} deletes its ${vms.length} student VM(s) and creates them again from ${bases}. Everything on them is lost.`,
          ...plans.flatMap(listResetVms),
        ].join('\n'),
        confirm: { prompt: `Rebuild ${vms.length} VM(s) of ${o.class}?`, action: `Rebuild ${o.class}` },
        data: { base: plans.length === 1 ? plans[0]!.base.name : bases, vms },
      };
    }
    if (plans.length === 1) return runReset(ctx, plans[0]!);
    const replies = [];
    for (const plan of plans) {
      const reply = await runReset(ctx, plan);
      replies.push(reply);
      if (reply.error) break;
    }
    const failed = replies.some((r) => r.error) || replies.length < plans.length;
    return {
      text: replies.map((r) => r.text).join('\n'),
      data: { roles: replies.map((r) => r.data) },
      error: failed,
      failed,
    };
  },
});

/** `/lab versions <class> [--role target]`: the base versions (of each role) with notes, dates and how many VMs use each. */
export const versionsSubcommand = subcommand({
  description: 'List the class’s template versions (per role) with notes, dates and student counts',
  options: z.object({
    class: classId,
    role: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a role is lower-case letters, digits or dashes, e.g. target')
      .optional()
      .describe('only this role’s versions (classes with several VMs per student)'),
  }),
  positional: ['class'],
  role: 'teacher',
  ephemeral: true,
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'see the versions of');
    const { engine } = ctx.services;
    const lab = await engine.labDefinition(o.class);
    if (!lab) {
      if (o.role) return { text: `${o.class} has one VM per student; leave out --role.`, ephemeral: true, error: true };
      const versions = await engine.baseVersions(o.class);
      if (versions.length === 0) return { text: `${o.class} has no template version yet; deploy it first.`, data: [] };
      return { text: versions.map(versionLine).join('\n'), data: versions };
    }
    if (o.role && !lab.roles.some((r) => r.name === o.role))
      return {
        text: `${o.class} has no role '${o.role}' (roles: ${lab.roles.map((r) => r.name).join(', ')}).`,
        ephemeral: true,
        error: true,
      };
    const roles = await engine.labBaseVersions(o.class, o.role ? { role: o.role } : {});
    const lines = roles.flatMap((r) => [
      `${r.role ?? 'VMs from before the roles'}:`,
      ...(r.versions.length
        ? r.versions.map((v) => `  ${versionLine(v)}`)
        : ['  no template version yet; deploy it first']),
    ]);
    return { text: lines.join('\n'), data: { roles } };
  },
});

type Version = Awaited<ReturnType<CommandContext['services']['engine']['baseVersions']>>[number];

const versionLine = (v: Version): string =>
  `v${v.version} ${v.name}${v.current ? ' (newest)' : ''} — ${day(v.createdAt)}${v.createdBy ? ` by ${v.createdBy}` : ''}, ${v.users.length} VM(s), on ${Object.keys(v.copies).join(', ')}${v.note ? `: ${v.note}` : ''}`;

import { z } from 'zod';
import type { ResetPlan } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Reply } from '../command-plugin.js';
import { DeploymentProgress } from '../deployment-progress.js';
import { progressRunOptions } from '../keep-progress-ref.js';
import { renderFinishedDeployment } from '../render.js';
import { myVmSubcommand } from './my-vms.js';
import { listOf, usernameOption } from './onboarding-options.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

const LOST = 'Everything on it is lost: files, installed software, settings and its snapshots.';

/** The VMs a reset plan re-creates, one line each with owner and state, for its confirmation. */
export function listResetVms(plan: ResetPlan): string[] {
  return plan.vms.map(
    (v) => `• ${v.name} (${v.vmid} on ${v.node}${v.owner ? `, ${v.owner}'s` : ''}${v.start ? ', running' : ''})`,
  );
}

/** Applies a confirmed reset plan with progress, and answers with its summary. */
export async function runReset(ctx: CommandContext, plan: ResetPlan): Promise<Reply> {
  const { engine } = ctx.services;
  const progress = new DeploymentProgress({
    label: `${plan.action ?? 'reset'} ${plan.classId}`,
    total: plan.vms.length,
    progress: ctx.progress,
  });
  progress.start(plan.base.name);
  const run = await engine.applyReset(plan, progressRunOptions(ctx, progress));
  const summary = await run.done;
  const text = renderFinishedDeployment({ spec: plan }, summary);
  const failed = summary.status !== 'done';
  return { text, data: { summary, base: plan.base.name, vms: plan.vms }, error: failed, failed };
}

/**
 * `/myvm reset [vm]`: re-creates the caller's VM from the class's current base version (asks to
 * confirm and says what is lost). Same name, VMID where possible, tags, cloud-init and assignment.
 */
export const myvmResetSubcommand = myVmSubcommand({
  description: 'Re-create your VM from the class template (asks to confirm; its contents are lost)',
  verb: 'reset',
  async run(ctx, chosen) {
    const assignment = await ctx.services.store.classes.assignment(chosen.clusterId, chosen.vmid);
    if (!assignment?.classId || assignment.role !== 'student')
      return {
        text: `${chosen.name} does not belong to a class, so it has no template to be reset from; ask your teacher.`,
        ephemeral: true,
        error: true,
      };
    const plan = await ctx.services.engine.planReset({
      classId: assignment.classId,
      clusterId: chosen.clusterId,
      vmid: chosen.vmid,
      usernames: [ctx.caller.person.username],
      requestedBy: ctx.caller.person.username,
    });
    if (!ctx.confirmed) {
      return {
        text: `Resetting ${chosen.name} (${chosen.vmid}) deletes it and creates it again from ${plan.base.name}, the current version of ${assignment.classId}. ${LOST} It keeps its name, its VM id and your SSH keys.`,
        confirm: {
          prompt: `Reset ${chosen.name}? Its contents and snapshots are lost.`,
          action: `Reset ${chosen.name}`,
        },
        data: { vm: { name: chosen.name, vmid: chosen.vmid }, base: plan.base.name },
      };
    }
    return runReset(ctx, plan);
  },
});

/** `/lab reset <class> <student…>` or `/lab reset <class> --all` (asks to confirm, listing the VMs). */
export const labResetSubcommand = subcommand({
  description: "Re-create students' VMs (or every student VM with --all) from the class's current template",
  options: z.object({
    class: classId,
    student: listOf(usernameOption, 'the students whose VMs are reset')
      .optional()
      .describe('the students whose VMs are reset (one or more)'),
    all: z.boolean().optional().describe('every student VM of the class'),
    role: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a role is lower-case letters, digits or dashes, e.g. target')
      .optional()
      .describe('only the VMs of this role (classes with several VMs per student)'),
  }),
  positional: ['class', 'student'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'reset VMs of');
    if (!o.student === !o.all)
      return {
        text: `Name students or --all: /lab reset ${o.class} alice bob, or /lab reset ${o.class} --all.`,
        ephemeral: true,
        error: true,
      };
    // A class with several VMs per student resets role by role (each from its own base).
    const lab = await ctx.services.engine.labDefinition(o.class);
    if (o.role && !lab?.roles.some((r) => r.name === o.role))
      return {
        text: lab
          ? `${o.class} has no role '${o.role}' (roles: ${lab.roles.map((r) => r.name).join(', ')}).`
          : `${o.class} has one VM per student; leave out --role.`,
        ephemeral: true,
        error: true,
      };
    const roles = lab ? (o.role ? [o.role] : lab.roles.map((r) => r.name)) : [undefined];
    const plans: ResetPlan[] = [];
    for (const role of roles) {
      const plan = await ctx.services.engine.planReset({
        classId: o.class,
        ...(o.all ? { all: true } : { usernames: [...new Set(o.student)] }),
        ...(role ? { labRole: role } : {}),
        requestedBy: ctx.caller.person.username,
      });
      if (plan.vms.length > 0 || roles.length === 1) plans.push(plan);
    }
    const vms = plans.flatMap((p) => p.vms);
    if (vms.length === 0) return { text: `${o.class} has no student VM to reset.`, ephemeral: true };
    const bases = plans.map((p) => p.base.name).join(', ');
    if (!ctx.confirmed) {
      return {
        text: [
          `This deletes ${vms.length} VM(s) of ${o.class} and creates them again from ${bases}. ${LOST}`,
          ...plans.flatMap(listResetVms),
        ].join('\n'),
        confirm: {
          prompt: `Reset ${vms.length} VM(s) of ${o.class}? Their contents and snapshots are lost.`,
          action: `Reset ${vms.length} VM(s)`,
        },
        data: { base: plans.length === 1 ? plans[0]!.base.name : bases, vms },
      };
    }
    if (plans.length === 1) return runReset(ctx, plans[0]!);
    const replies: Reply[] = [];
    for (const plan of plans) {
      replies.push(await runReset(ctx, plan));
      if (replies.at(-1)!.error) break;
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

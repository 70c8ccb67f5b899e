import { z } from 'zod';
import {
  assertClassDeployable,
  classTimeZone,
  currentSession,
  formatHours,
  formatLocalTime,
  linkChatAccount,
  nextSession,
  outsideSessionMs,
  resetsUnderWay,
  DeploymentEngine,
  type DeploymentSummary,
} from '@lab/proxmox-sdk';

type ClassPlan = Awaited<ReturnType<DeploymentEngine['plan']>>;
import { InvalidChatAccountError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext, type CommandPlugin } from '../command-plugin.js';
import { identityFormatOf } from '../identity-formats.js';
import { wholeNumber } from '../number-option.js';
import { finishedForStoppedProcess, unfinishedDeploymentsOf } from './stopped-deployments.js';
import { resetOf } from './being-reset.js';
import { keepProgressRef } from '../keep-progress-ref.js';
import { DeploymentProgress } from '../deployment-progress.js';
import { renderDeploymentSummary } from '../render.js';
import { inviteSubcommand } from './class-plugin.js';
import { joinSubcommand } from './join-subcommand.js';
import { labUnlinkSubcommand } from './join-request-subcommands.js';
import { linkMeSubcommand } from './link-me-subcommands.js';
import { gridSubcommand } from './grid-subcommand.js';
import { classPowerSubcommand } from './class-power-subcommand.js';
import { labSnapshotSubcommand } from './snapshot-subcommands.js';
import { auditSubcommand } from './audit-subcommand.js';
import { doctorSubcommand } from './doctor-subcommand.js';
import { labResetSubcommand } from './reset-subcommands.js';
import { scheduleSubcommand } from './schedule-subcommand.js';
import { labUsageSubcommand, limitsSubcommand } from './time-subcommands.js';
import { quotaSubcommand } from './quota-subcommand.js';
import { publishSubcommand, rebuildSubcommand, versionsSubcommand } from './base-version-subcommands.js';
import { classId, classNames, classViewSubcommand, mustTeach } from './teacher-access.js';
import { syncStatusReply } from './sync-status.js';

async function templateNames(ctx: CommandContext): Promise<string[]> {
  return (await ctx.services.catalog.list({ activeOnly: true })).map((t) => t.name);
}

/** How many VMs `/lab vms` lists unless told `limit` or `all`: a screenful, not a 10,000-line dump. */
const VMS_PAGE = 100;

/** Extracts a user id from a mention (`<@U123|alice>`, `<@123>`) or returns the word as it is. */
export function mentionedUserId(text: string): string {
  return /^<@!?([A-Za-z0-9]+)(\|[^>]*)?>$/.exec(text)?.[1] ?? text.replace(/^@/, '');
}

/** `/lab`: deploy, status, destroy, templates, sync and link, for teachers and admins. */
export const labPlugin: CommandPlugin = {
  name: 'lab',
  description: 'Manage classroom VMs (teachers and admins)',
  subcommands: {
    deploy: subcommand({
      description: 'Deploy a class: teacher VM, base template and one VM per student',
      options: z.object({
        class: classId,
        count: wholeNumber('number of student VMs', 0, 500),
        template: z.string().min(1).optional().describe('template name (default: the class template)'),
      }),
      positional: ['class', 'count', 'template'],
      role: 'teacher',
      autocomplete: { class: classNames, template: templateNames },
      async run(ctx, o) {
        await mustTeach(ctx, o.class, 'deploy');
        const { store, engine, clock } = ctx.services;
        await assertClassDeployable(store, o.class, clock.now());
        // Without a template named, the plan takes the class's (and says what to name when it has none).
        // A class with a lab definition deploys one plan per role, each from the role's template.
        const specs = await engine.labSpecs({
          classId: o.class,
          count: o.count,
          ...(o.template ? { template: o.template } : {}),
          requestedBy: ctx.caller.person.username,
        });
        if (specs.length > 1 && o.template)
          return {
            text: `${o.class} has several roles, each with its template; change them with /class set-lab ${o.class}, or deploy without a template.`,
            ephemeral: true,
            error: true,
          };
        const plans: ClassPlan[] = [];
        for (const spec of specs) plans.push(await engine.plan(spec));
        const roleOf = (plan: ClassPlan) => plan.spec.labRole?.name;
        const named = (plan: ClassPlan, text: string) => (roleOf(plan) ? `${roleOf(plan)}: ${text}` : text);
        const deletes = plans.flatMap((plan) => plan.vms.filter((v) => v.action === 'delete'));
        const unseated = plans[0]!.unseated;
        const planNotes = plans.flatMap((plan) => plan.notes.map((note) => named(plan, note)));
        const notes = [
          ...planNotes,
          ...(unseated.length
            ? [
                `${unseated.length} enrolled student(s) get no VM: ${unseated.join(', ')} (students who have a VM keep it; the other seats go by username)`,
              ]
            : []),
        ];
        const creates = plans.reduce((n, plan) => n + plan.counts.create, 0);
        // The private networks of the class's lab definition, on the cluster the deploy targets
        // (refused before anything changes when the lab has no `sdn` settings).
        const clusterId = plans[0]!.clusterId;
        // Only seated students get a network (and the teacher VMs one of their own).
        const seats = DeploymentEngine.seatsOf(plans);
        const networkPlan = await engine.planLabNetworks(o.class, clusterId, seats);
        if (networkPlan) notes.push(`Networks: ${networkPlan.summary}.`);
        if (deletes.length && !ctx.confirmed) {
          const list = deletes.map(
            (v) =>
              `${v.name} (${v.vmid} on ${v.node}${v.owner ? `, ${v.owner}'s` : ''}${v.role === 'teacher' ? ', a second teacher VM' : ''})`,
          );
          const counts = plans.length === 1 ? plans[0]!.counts : { create: creates, keep: 0, delete: deletes.length };
          // A class with several VMs per student: what each role's deployment does, in order.
          const perRole =
            plans.length > 1
              ? plans.map(
                  (p) =>
                    `${roleOf(p)} (${p.templateName}): ${p.counts.create} to create, ${p.counts.keep} kept, ${p.counts.delete} to delete`,
                )
              : [];
          return {
            text: [
              `Deploying ${o.class} with ${o.count} ${o.count === 1 ? 'seat' : 'seats'} creates ${creates} VM(s) and deletes ${deletes.length} (a running VM is stopped first):`,
              ...list.map((l) => `• ${l}`),
              ...(perRole.length ? ['Per role, in this order:', ...perRole.map((l) => `• ${l}`)] : []),
              ...notes,
            ].join('\n'),
            confirm: { prompt: `Delete ${deletes.length} VM(s) and deploy ${o.class}?`, action: `Delete and deploy` },
            data: {
              plan: {
                counts:
                  plans.length === 1
                    ? plans[0]!.counts
                    : { ...counts, keep: plans.reduce((n, p) => n + p.counts.keep, 0) },
                deletes: deletes.map((v) => ({ name: v.name, vmid: v.vmid, node: v.node, owner: v.owner })),
                unseated,
                notes: planNotes,
                ...(plans.length > 1
                  ? { roles: plans.map((p) => ({ role: roleOf(p), template: p.templateName, counts: p.counts })) }
                  : {}),
              },
            },
          };
        }
        // What the bar counts: VMs to create (base copies on other nodes included) and VMs to delete,
        // each once. Kept VMs are registered again during the run and are not counted.
        const steps = new Set(
          plans.flatMap((plan) => [
            ...[plan.base, ...plan.vms].filter((v) => v.action === 'create').map((v) => v.name),
            ...plan.replicateBaseTo.map((node) => `${plan.base.name}@${node}`),
            ...plan.vms.filter((v) => v.action === 'delete').map((v) => `delete:${v.vmid}`),
          ]),
        );
        const progress = new DeploymentProgress({
          label: o.class,
          total: steps.size,
          progress: ctx.progress,
          step: (e) => {
            const step = e.type === 'registered' ? e.name : e.type === 'deleted' ? `delete:${e.vmid}` : undefined;
            return step !== undefined && steps.has(step) ? step : undefined;
          },
        });
        progress.start('planned');
        // The networks first, so the VMs' net0 goes on them as they are created.
        const networks = await engine.ensureLabNetworks(o.class, clusterId, seats);
        const networkLine = networks ? [`Networks: ${networks.summary}.`] : [];
        const keep = keepProgressRef(ctx);
        const left = await unfinishedDeploymentsOf(store, o.class);
        const summaries: Array<{ plan: ClassPlan; summary: DeploymentSummary }> = [];
        for (const [i, spec] of specs.entries()) {
          // A later role is planned again once the one before ran: its students join their set's node.
          const plan = i === 0 ? plans[0]! : await engine.plan(spec);
          const run = await engine.apply(plan, {
            confirmDeletes: ctx.confirmed,
            ...(ctx.notify ? { notify: ctx.notify } : {}),
            onEvent: (e) => {
              progress.onEvent(e);
              keep(e);
            },
          });
          summaries.push({ plan, summary: await run.done });
          if (summaries.at(-1)!.summary.status !== 'done') break;
        }
        const failed = summaries.some((r) => r.summary.status !== 'done') || summaries.length < specs.length;
        // Students who lost their seat: their networks go once their VMs are gone.
        if (networks && !failed) {
          try {
            const released = await engine.releaseLabNetworks(o.class, clusterId, seats);
            if (released.removed.length)
              networkLine.push(`Removed ${released.removed.length} network(s) of students without a seat.`);
          } catch (error) {
            // Recorded `deleting` first: the next deploy (or any network change) finishes it.
            const why = error instanceof Error ? error.message : String(error);
            networkLine.push(
              `The networks of students without a seat are not all removed yet (${why}); the next deploy finishes it.`,
            );
          }
        }
        const finishedFirst = await finishedForStoppedProcess(store, left);
        if (summaries.length === 1 && specs.length === 1) {
          const { summary, plan } = summaries[0]!;
          return {
            text: [...finishedFirst, renderDeploymentSummary(summary), ...networkLine, ...plan.notes].join('\n'),
            data: networks ? { ...summary, networks } : summary,
            error: failed,
            failed,
          };
        }
        return {
          text: [
            ...finishedFirst,
            ...summaries.map((r) => named(r.plan, renderDeploymentSummary(r.summary))),
            ...networkLine,
            ...summaries.flatMap((r) => r.plan.notes.map((note) => named(r.plan, note))),
          ].join('\n'),
          data: {
            status: failed ? 'failed' : 'done',
            roles: summaries.map((r) => ({ role: roleOf(r.plan), ...r.summary })),
            ...(networks ? { networks } : {}),
          },
          error: failed,
          failed,
        };
      },
    }),
    adopt: subcommand({
      description: 'Take an existing VM into a class (tags and assigns it), e.g. after a name conflict',
      options: z.object({
        vmid: wholeNumber('the VM id', 100, 999_999_999),
        class: classId,
        student: z
          .string()
          .regex(/^[a-z][a-z0-9._-]{1,31}$/, 'a username is lower-case letters, digits, dots, dashes or underscores')
          .optional()
          .describe('the student it belongs to'),
        cluster: z.string().optional().describe('cluster id (default: the first)'),
      }),
      positional: ['vmid', 'class', 'student'],
      role: 'teacher',
      autocomplete: { class: classNames },
      async run(ctx, o) {
        await mustTeach(ctx, o.class, 'adopt VMs into');
        const { store, engine, defaultClusterId } = ctx.services;
        let personId: number | null = null;
        if (o.student) {
          const person = await store.classes.getPersonByUsername(o.student);
          const enrolled =
            person &&
            (await store.classes.members(o.class)).some((m) => m.personId === person.id && m.role === 'student');
          if (!person || !enrolled)
            return {
              text: `${o.student} is not a student of ${o.class}; enrol them first.`,
              ephemeral: true,
              error: true,
            };
          personId = person.id;
        }
        const adopted = await engine.adoptVm({
          clusterId: o.cluster ?? defaultClusterId,
          vmid: o.vmid,
          classId: o.class,
          personId,
          actor: ctx.caller.person.username,
        });
        return {
          text: `${adopted.name} (${o.vmid} on ${adopted.node}) now belongs to ${o.class}${o.student ? ` as ${o.student}'s VM` : ''}.`,
          data: { vmid: o.vmid, ...adopted },
        };
      },
    }),
    status: classViewSubcommand({
      description: 'Show the VMs of a class',
      action: 'see',
      async run(ctx, o) {
        const { store, inventory } = ctx.services;
        const result = await inventory.listVms({
          user: ctx.caller.viewer,
          search: `${o.class}-`,
          includeTemplates: true,
        });
        const assignments = new Map(
          (await store.classes.assignmentsOfClass(o.class)).map((a) => [`${a.clusterId}/${a.vmid}`, a]),
        );
        const people = new Map((await store.classes.listPeople()).map((p) => [p.id, p.username]));
        const vms = result.vms.filter((v) => assignments.has(`${v.clusterId}/${v.vmid}`));
        // Time controls, from the store: idle since, hours outside sessions, the next scheduled action.
        const now = ctx.services.clock.now();
        const schedules = await store.schedules.list(o.class);
        const time = await Promise.all(
          vms.map(async (v) => ({
            idle: await store.usage.idle(v.clusterId, v.vmid),
            usedMs: outsideSessionMs(await store.usage.intervals([v]), schedules, now),
          })),
        );
        const resets = (await resetsUnderWay(store)).filter((r) => r.classId === o.class);
        const timezone = classTimeZone(schedules, ctx.services.timezone);
        const local = (ms: number): string => formatLocalTime(ms, timezone);
        const lines = vms.map((v, i) => {
          const a = assignments.get(`${v.clusterId}/${v.vmid}`)!;
          const reset = resetOf(resets, v);
          const state = reset ? `being reset since ${local(reset.since)}` : v.status;
          const { idle, usedMs } = time[i]!;
          const extras = [
            ...(idle?.idleSince != null && v.status === 'running' ? [`idle since ${local(idle.idleSince)}`] : []),
            ...(usedMs > 0 ? [`${formatHours(usedMs)} outside sessions`] : []),
            ...(v.snapshots ? [`${v.snapshots} snapshot${v.snapshots === 1 ? '' : 's'}`] : []),
          ];
          return `${v.name} (${v.vmid}) on ${v.node}: ${state}${a.personId ? ` — ${people.get(a.personId)}` : ''}${extras.length ? ` (${extras.join(', ')})` : ''}`;
        });
        const resetting = resets.filter((r) => !vms.some((v) => resetOf([r], v)));
        for (const r of resetting)
          lines.push(
            `${r.name}${r.vmid !== null ? ` (${r.vmid})` : ''}: being reset since ${local(r.since)}${r.personId ? ` — ${people.get(r.personId)}` : ''}`,
          );
        const running = currentSession(schedules, now);
        const next = running ? undefined : nextSession(schedules, now);
        if (running) lines.push(`Next: VMs stop at ${local(running.end)}, when the session ends.`);
        else if (next)
          lines.push(`Next: VMs start at ${local(next.warmupAt)} for the session at ${local(next.start)}.`);
        const [last] = await store.deployments.list({ classId: o.class });
        const snapshots = vms.reduce((n, v) => n + (v.snapshots ?? 0), 0);
        return {
          text: `${o.class}: ${vms.length + resetting.length} VMs${snapshots ? `, ${snapshots} snapshot${snapshots === 1 ? '' : 's'}` : ''}${result.stale ? ' (data may be stale)' : ''}${last ? `, last deployment ${last.status}` : ''}\n${lines.join('\n')}`,
          data: vms,
        };
      },
    }),
    vms: subcommand({
      description: "List the VMs you may see (yours; your classes' as a teacher; all as an admin), from the inventory",
      options: z.object({
        limit: wholeNumber(`list at most this many (default ${VMS_PAGE})`, 1, 1_000_000)
          .optional()
          .describe(`list at most this many (default ${VMS_PAGE})`),
        all: z.boolean().optional().describe('list every VM, however many'),
      }),
      positional: [],
      role: 'student',
      ephemeral: true,
      async run(ctx, o) {
        const limit = o.all ? undefined : (o.limit ?? VMS_PAGE);
        const result = await ctx.services.inventory.listVms({
          user: ctx.caller.viewer,
          ...(limit !== undefined ? { limit } : {}),
        });
        if (result.vms.length === 0 && (await ctx.services.store.inventory.count()) === 0)
          return {
            text:
              ctx.caller.platform === 'cli'
                ? 'The inventory is empty: no sync has read the clusters yet. Run lab sync --once (lab serve also syncs).'
                : 'The inventory is empty: no sync has read the clusters yet. An admin runs /lab sync.',
            data: [],
          };
        const rows = [
          ['VMID', 'NAME', 'NODE', 'STATUS', 'IP'],
          ...result.vms.map((v) => [String(v.vmid), v.name, v.node, v.status, v.ip ?? '']),
        ];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        const table = rows.map((r) =>
          r
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        );
        const notes = [
          ...(result.more
            ? [
                `(the first ${result.vms.length} by cluster and VMID; more match: ${ctx.caller.platform === 'discord' ? 'set limit or all' : '--limit <n> lists more, --all every one'})`,
              ]
            : []),
          ...(result.stale ? ['(the inventory may be a few minutes old)'] : []),
        ];
        return { text: [...table, ...notes].join('\n'), data: result.vms };
      },
    }),
    destroy: subcommand({
      description: 'Destroy every VM of a class and its base template (asks to confirm)',
      options: z.object({ class: classId }),
      positional: ['class'],
      role: 'teacher',
      autocomplete: { class: classNames },
      async run(ctx, o) {
        await mustTeach(ctx, o.class, 'destroy');
        const vms = await ctx.services.store.classes.assignmentsOfClass(o.class);
        if (!ctx.confirmed)
          return {
            text: `This will stop and delete ${vms.length} VMs of ${o.class}, including its base template. It cannot be undone.`,
            confirm: { prompt: `Destroy ${o.class}?`, action: `Destroy ${o.class}` },
          };
        const result = await ctx.services.engine.destroyClass(o.class, { actor: ctx.caller.person.username });
        return {
          text: [
            `${o.class}: ${result.destroyed.length} VMs destroyed.`,
            ...(result.networksRemoved.length
              ? [`Its private networks are removed (SDN ${result.networksRemoved.join(', ')}).`]
              : []),
            ...(result.networksLeft.length
              ? [
                  `Its private networks on ${result.networksLeft.join(', ')} are left: add the "sdn" section to lab.config.json and run /lab destroy ${o.class} again.`,
                ]
              : []),
          ].join('\n'),
          data: result,
        };
      },
    }),
    templates: subcommand({
      description: 'List the templates and the nodes they are on',
      options: z.object({}),
      positional: [],
      role: 'teacher',
      ephemeral: true,
      async run(ctx) {
        const templates = await ctx.services.catalog.list({ activeOnly: true });
        const health = new Map(
          (await ctx.services.store.templateInventory.list()).map((t) => [
            `${t.clusterId}/${t.node}/${t.vmid}`,
            t.health,
          ]),
        );
        const lines = templates.map(
          (t) =>
            `${t.name} (${t.record.memory} MiB, ${t.record.cores} cores): ${t.mappings.map((m) => `${m.node} ${m.vmid}${health.get(`${m.clusterId}/${m.node}/${m.vmid}`) && health.get(`${m.clusterId}/${m.node}/${m.vmid}`) !== 'ok' ? ` [${health.get(`${m.clusterId}/${m.node}/${m.vmid}`)}]` : ''}`).join(', ')}`,
        );
        return {
          text: lines.length ? lines.join('\n') : 'No templates yet.',
          data: templates.map((t) => ({ name: t.name, nodes: t.mappings })),
        };
      },
    }),
    sync: subcommand({
      description: 'Sync the inventory with the clusters now, or show its status: sync status (admins)',
      options: z.object({
        action: z
          .enum(['now', 'status'], { error: "use 'now' (the default) or 'status'" })
          .optional()
          .describe("'now' (default) or 'status'"),
      }),
      positional: ['action'],
      role: 'admin',
      async run(ctx, o) {
        if (o.action === 'status') return syncStatusReply(ctx);
        if (!ctx.services.sync) return { text: 'No sync engine runs in this process.', error: true };
        const reports = await ctx.services.sync.triggerSync();
        return {
          text: reports
            .map((r) =>
              r.ok
                ? `${r.clusterId}: ${r.vms} VMs (${r.added} new, ${r.changed} changed, ${r.gone} gone)`
                : `${r.clusterId}: failed — ${r.error}`,
            )
            .join('\n'),
          data: reports,
          error: reports.some((r) => !r.ok),
          failed: reports.some((r) => !r.ok),
        };
      },
    }),
    link: subcommand({
      description: 'Link a chat user to a lab student (enrol them)',
      options: z.object({
        user: z.string().min(1).describe('the chat user (@mention)'),
        student: z
          .string()
          .regex(/^[a-z][a-z0-9._-]{1,31}$/, 'a username is lower-case letters, digits, dots, dashes or underscores')
          .describe('lab username'),
        class: classId.optional(),
      }),
      positional: ['user', 'student', 'class'],
      role: 'teacher',
      async run(ctx, o) {
        const platform = ctx.caller.platform;
        const format = identityFormatOf(ctx.services, platform);
        if (platform === 'cli' || !format || format.linkable === false)
          return {
            text: `From here, link accounts with: people link ${o.student} --slack <id>, --discord <id> or --account <platform>:<id>.`,
            error: true,
          };
        // Only a mention the platform resolved (or a bare user id) names an account; `@alice` is just text.
        const externalId = format.parse(o.user);
        if (!externalId) throw new InvalidChatAccountError(platform, o.user, format);
        const result = await linkChatAccount(
          { store: ctx.services.store, clock: ctx.services.clock },
          {
            actor: ctx.caller.viewer,
            platform,
            platformLabel: format.label,
            externalId,
            username: o.student,
            ...(o.class ? { classId: o.class } : {}),
          },
        );
        return {
          text: `Linked ${o.user} to ${result.person.username}${o.class ? ` and enrolled them in ${o.class}` : ''}.`,
        };
      },
    }),
    reset: labResetSubcommand,
    schedule: scheduleSubcommand,
    limits: limitsSubcommand,
    usage: labUsageSubcommand,
    quota: quotaSubcommand,
    publish: publishSubcommand,
    rebuild: rebuildSubcommand,
    versions: versionsSubcommand,
    invite: inviteSubcommand,
    join: joinSubcommand,
    unlink: labUnlinkSubcommand,
    'link-me': linkMeSubcommand,
    grid: gridSubcommand,
    power: classPowerSubcommand,
    audit: auditSubcommand,
    doctor: doctorSubcommand,
    snapshot: labSnapshotSubcommand,
  },
};

import { z } from 'zod';
import {
  DEFAULT_MAX_SNAPSHOTS,
  formatLocalTime,
  type ClassSnapshotOutcome,
  type VmInventoryRecord,
  type VmSnapshot,
} from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Reply } from '../command-plugin.js';
import { myVms, pickMyVm, vmOption, vmSuggestion } from './my-vms.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

/** A snapshot name as PVE takes it; `delete` is the word that deletes one. */
const snapshotName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{1,39}$/i, 'a snapshot name starts with a letter: 2–40 letters, digits, - or _')
  .describe("a name for the snapshot (default snap-<date>-<time>), or 'delete'");

const snapshotToName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{1,39}$/i, 'a snapshot name starts with a letter: 2–40 letters, digits, - or _')
  .describe('the snapshot (see /myvm snapshots)');

const LOST_SINCE = 'everything that changed on it since — files, installed software and settings — is lost';

/** The caller as a student: /myvm acts on their own VMs only, whatever their role. */
const asOwner = (ctx: CommandContext) => ({ ...ctx.caller.viewer, role: 'student' as const });

async function maxSnapshotsOf(ctx: CommandContext, vm: VmInventoryRecord): Promise<number> {
  const assignment = await ctx.services.store.classes.assignment(vm.clusterId, vm.vmid);
  const policy = assignment?.classId ? await ctx.services.store.usage.policy(assignment.classId) : undefined;
  return policy?.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS;
}

function snapshotLine(ctx: CommandContext, s: VmSnapshot): string {
  const when = s.takenAt === null ? '' : ` — ${formatLocalTime(s.takenAt, ctx.services.timezone)}`;
  const who = s.forClass
    ? `, by ${s.takenBy ?? 'a teacher'} for the class`
    : s.takenBy && s.takenBy !== ctx.caller.person.username
      ? `, by ${s.takenBy}`
      : '';
  return `• ${s.name}${when}${who}`;
}

/**
 * `/myvm snapshot [name] [vm]`: a snapshot of the caller's VM, within the class's limit; and
 * `/myvm snapshot delete <name> [vm]`.
 */
export const myvmSnapshotSubcommand = subcommand({
  description: 'Take a snapshot of your VM: snapshot [name]; snapshot delete <name>',
  options: z.object({
    name: snapshotName.optional(),
    snapshot: snapshotToName.optional().describe("with 'delete': the snapshot to delete"),
    vm: vmOption,
  }),
  positional: ['name', 'snapshot', 'vm'],
  role: 'student',
  ephemeral: true,
  autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map(vmSuggestion) },
  async run(ctx, o) {
    const deleting = o.name?.toLowerCase() === 'delete';
    if (!deleting && o.snapshot)
      return {
        text: `Too many words: /myvm snapshot [name], or /myvm snapshot delete <name>. To name a VM, use --vm ${o.snapshot}.`,
        error: true,
      };
    const chosen = await pickMyVm(ctx, o.vm, 'snapshot');
    if ('text' in chosen) return chosen;
    const { snapshots } = ctx.services;
    if (deleting) {
      if (!o.snapshot) return { text: 'Say which: /myvm snapshot delete <name> (see /myvm snapshots).', error: true };
      const { count } = await snapshots.remove(asOwner(ctx), chosen.clusterId, chosen.vmid, o.snapshot);
      return {
        text: `Deleted snapshot ${o.snapshot} of ${chosen.name}; it has ${count} left.`,
        data: { vm: { name: chosen.name, vmid: chosen.vmid }, deleted: o.snapshot, count },
      };
    }
    const { snapshot, count, counted } = await snapshots.take(asOwner(ctx), chosen.clusterId, chosen.vmid, {
      ...(o.name ? { name: o.name } : {}),
    });
    const limit = await maxSnapshotsOf(ctx, chosen);
    return {
      text: `Took snapshot ${snapshot.name} of ${chosen.name} (${limit > 0 ? `${counted} of ${limit}` : count}). Go back to it with /myvm restore ${snapshot.name}.`,
      data: { vm: { name: chosen.name, vmid: chosen.vmid }, snapshot, count, counted, limit: limit > 0 ? limit : null },
    };
  },
});

/** `/myvm snapshots [vm]`: the caller's VM's snapshots and the class's limit. */
export const myvmSnapshotsSubcommand = subcommand({
  description: 'List the snapshots of your VM',
  options: z.object({ vm: vmOption }),
  positional: ['vm'],
  role: 'student',
  ephemeral: true,
  autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map(vmSuggestion) },
  async run(ctx, o) {
    const chosen = await pickMyVm(ctx, o.vm, 'snapshots');
    if ('text' in chosen) return chosen;
    const list = await ctx.services.snapshots.list(asOwner(ctx), chosen.clusterId, chosen.vmid);
    const limit = await maxSnapshotsOf(ctx, chosen);
    const own = list.filter((s) => !s.forClass).length;
    const head =
      list.length === 0
        ? `${chosen.name} has no snapshot yet. Take one with /myvm snapshot [name].`
        : `${chosen.name} has ${list.length} snapshot(s)${limit > 0 ? `; ${own} of your ${limit} used` : ''}:`;
    return {
      text: [head, ...list.map((s) => snapshotLine(ctx, s))].join('\n'),
      data: { vm: { name: chosen.name, vmid: chosen.vmid }, limit: limit > 0 ? limit : null, snapshots: list },
    };
  },
});

/** `/myvm restore <name> [vm]`: the VM goes back to a snapshot (asks to confirm: later changes are lost). */
export const myvmRestoreSubcommand = subcommand({
  description: 'Put your VM back to a snapshot (asks to confirm; what changed since is lost)',
  options: z.object({ name: snapshotToName, vm: vmOption }),
  positional: ['name', 'vm'],
  role: 'student',
  ephemeral: true,
  autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map(vmSuggestion) },
  async run(ctx, o) {
    const chosen = await pickMyVm(ctx, o.vm, 'restore');
    if ('text' in chosen) return chosen;
    if (!ctx.confirmed)
      return {
        text: `Restoring ${chosen.name} to snapshot ${o.name} puts its disks and settings back to that moment: ${LOST_SINCE}. A running VM is stopped and started again.`,
        confirm: {
          prompt: `Restore ${chosen.name} to ${o.name}? What changed since is lost.`,
          action: `Restore ${o.name}`,
        },
        data: { vm: { name: chosen.name, vmid: chosen.vmid }, snapshot: o.name },
      };
    const { status } = await ctx.services.snapshots.restore(asOwner(ctx), chosen.clusterId, chosen.vmid, o.name);
    return {
      text: `${chosen.name} is back at snapshot ${o.name} and ${status}.`,
      data: { vm: { name: chosen.name, vmid: chosen.vmid }, snapshot: o.name, status },
    };
  },
});

function outcomeReply(verb: string, classId: string, outcomes: ClassSnapshotOutcome[]): Reply {
  const ok = outcomes.filter((x) => x.outcome === 'ok');
  const other = outcomes.filter((x) => x.outcome !== 'ok');
  const lines = other.map((x) => `• ${x.name} (${x.vmid})${x.owner ? `, ${x.owner}'s` : ''}: ${x.reason}`);
  const failed = other.some((x) => x.outcome === 'failed');
  return {
    text: [
      outcomes.length === 0
        ? `${classId} has no student VM.`
        : `${verb} ${ok.length} of ${outcomes.length} student VM(s) of ${classId}.${other.length ? ' Not done:' : ''}`,
      ...lines,
    ].join('\n'),
    data: outcomes,
    ...(other.length > 0 ? { error: true } : {}),
    ...(failed ? { failed: true } : {}),
  };
}

/**
 * `/lab snapshot <class> [name]`: a snapshot of every student VM of the class for the class (e.g.
 * before an exam; not counted against the students' limit, and only a teacher deletes it);
 * `/lab snapshot <class> restore <name> <student>|--all` puts VMs back to it (asks to confirm);
 * `/lab snapshot <class> delete <name>` deletes it from all of them. One subcommand, as Discord
 * allows a command 25.
 */
export const labSnapshotSubcommand = subcommand({
  description: 'Snapshot every student VM of a class (e.g. before an exam); restore or delete <name>',
  options: z.object({
    class: classId,
    name: snapshotName
      .optional()
      .describe("a name for the snapshot (default class-<date>-<time>), or 'restore' or 'delete'"),
    snapshot: snapshotToName.optional().describe("with 'restore' or 'delete': which snapshot"),
    student: z
      .string()
      .regex(/^[a-z][a-z0-9._-]{1,31}$/, 'a username is lower-case letters, digits, dots, dashes or underscores')
      .optional()
      .describe("with 'restore': the student whose VM goes back"),
    all: z.boolean().optional().describe("with 'restore': every student VM of the class"),
  }),
  positional: ['class', 'name', 'snapshot', 'student'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'snapshot the VMs of');
    const verb = o.name?.toLowerCase();
    if (verb === 'restore') return restoreForClass(ctx, o);
    if (o.student || o.all)
      return {
        text: `A student or --all goes with restore: /lab snapshot ${o.class} restore <name> <student>|--all.`,
        error: true,
      };
    const { snapshots } = ctx.services;
    if (verb === 'delete') {
      if (!o.snapshot) return { text: `Say which: /lab snapshot ${o.class} delete <name>.`, error: true };
      return outcomeReply(
        'Deleted it from',
        o.class,
        await snapshots.removeForClass(ctx.caller.viewer, o.class, o.snapshot),
      );
    }
    if (o.snapshot) return { text: `Too many words: /lab snapshot ${o.class} [name].`, error: true };
    const outcomes = await snapshots.takeForClass(ctx.caller.viewer, o.class, o.name);
    const reply = outcomeReply('Took a snapshot of', o.class, outcomes);
    const name = outcomes[0]?.snapshot ?? '<name>';
    return { ...reply, text: `${reply.text}\nRestore with /lab snapshot ${o.class} restore ${name} <student>|--all.` };
  },
});

async function restoreForClass(
  ctx: CommandContext,
  o: { class: string; snapshot?: string | undefined; student?: string | undefined; all?: boolean | undefined },
): Promise<Reply> {
  const usage = `/lab snapshot ${o.class} restore <name> <student>|--all`;
  if (!o.snapshot) return { text: `Say which snapshot: ${usage}.`, error: true };
  if (!o.student === !o.all)
    return {
      text: `Name one student or --all: /lab snapshot ${o.class} restore ${o.snapshot} alice, or /lab snapshot ${o.class} restore ${o.snapshot} --all.`,
      error: true,
    };
  const whose = o.all ? `every student VM of ${o.class}` : `${o.student}'s VM in ${o.class}`;
  if (!ctx.confirmed)
    return {
      text: `Restoring ${whose} to snapshot ${o.snapshot}: ${LOST_SINCE}. Running VMs are stopped and started again.`,
      confirm: {
        prompt: `Restore ${whose} to ${o.snapshot}? What changed since is lost.`,
        action: `Restore ${o.snapshot}`,
      },
      data: { class: o.class, snapshot: o.snapshot, ...(o.student ? { student: o.student } : { all: true }) },
    };
  const outcomes = await ctx.services.snapshots.restoreForClass(ctx.caller.viewer, o.class, o.snapshot, o.student);
  if (o.student && outcomes.length === 0) return { text: `${o.student} has no VM in ${o.class}.`, error: true };
  return outcomeReply(`Restored ${o.snapshot} on`, o.class, outcomes);
}

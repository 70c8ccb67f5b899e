import { z } from 'zod';
import { createInvite, DefaultInviteOptions, exportRosterCsv, unenrolStudent } from '@lab/proxmox-sdk';
import { NotAllowedError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext, type CommandPlugin, type Subcommand } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { classLoginSubcommand } from './class-login-subcommand.js';
import { labSubcommand, setLabSubcommand } from './lab-definition-subcommands.js';
import { terraformExportSubcommand } from './terraform-export-subcommand.js';
import { archiveSubcommand, describeTerm, destroyVmsSubcommand, setEndSubcommand } from './term-subcommands.js';
import {
  classIdOption,
  classNamed,
  listOf,
  manageableClasses,
  mustTeachClass,
  personNamed,
  usernameOption,
} from './onboarding-options.js';

const DAY = 24 * 60 * 60 * 1000;

async function teachersOf(ctx: CommandContext, classId: string): Promise<string[]> {
  const { store } = ctx.services;
  const klass = await store.classes.getClass(classId);
  const ids = new Set([
    ...(klass?.ownerId ? [klass.ownerId] : []),
    ...(await store.classes.members(classId)).filter((m) => m.role === 'teacher').map((m) => m.personId),
  ]);
  const people = await Promise.all([...ids].map((id) => store.classes.getPerson(id)));
  return people.flatMap((p) => (p ? [p.username] : [])).sort();
}

/**
 * `invite <class> [--uses N] [--days 7]`: a short code students type with `/lab join`. Shared by
 * `/lab invite` and `class invite`.
 */
export const inviteSubcommand: Subcommand = subcommand({
  description: 'Make an invite code students use with /lab join (teachers of the class)',
  options: z.object({
    class: classIdOption,
    uses: wholeNumber(
      `how many students may join with it (default: the class's roster size, or ${DefaultInviteOptions.maxUses} with an empty roster)`,
      1,
      1000,
    ).optional(),
    days: wholeNumber('days it works', 1, 90).default(DefaultInviteOptions.validForMs / DAY),
  }),
  positional: ['class'],
  role: 'teacher',
  ephemeral: true,
  autocomplete: { class: manageableClasses },
  async run(ctx, o) {
    await mustTeachClass(ctx, o.class, 'invite students to');
    const { code, invite } = await createInvite(
      { store: ctx.services.store, clock: ctx.services.clock },
      {
        classId: o.class,
        createdBy: ctx.caller.person.id || null,
        ...(o.uses !== undefined ? { maxUses: o.uses } : {}),
        validForMs: o.days * DAY,
      },
    );
    const until = new Date(invite.expiresAt).toISOString().slice(0, 16).replace('T', ' ');
    return {
      text: `Invite code for ${o.class}: ${code}\nStudents type: /lab join ${code} — it works for ${invite.maxUses} student(s) until ${until} UTC. Keep it within the class; it is shown only now.`,
      data: { code, classId: o.class, expiresAt: invite.expiresAt, maxUses: invite.maxUses },
    };
  },
});

/** `class`: classes, their teachers, students and template. */
export const classPlugin: CommandPlugin = {
  name: 'class',
  description: 'Create classes, enrol students, invite them (admins; teachers for their classes)',
  subcommands: {
    create: subcommand({
      description: 'Create a class (admins)',
      options: z.object({
        id: classIdOption,
        name: z.string().min(1).max(100).describe('what the class is called'),
        teacher: usernameOption.optional().describe('its teacher (username)'),
        template: z.string().min(1).optional().describe('template its VMs are deployed from'),
      }),
      positional: ['id'],
      role: 'admin',
      async run(ctx, o) {
        const { store, catalog, clock } = ctx.services;
        const teacher = o.teacher ? await personNamed(ctx, o.teacher) : undefined;
        if (teacher && teacher.role === 'student')
          return {
            text: `${teacher.username} is a student; make them a teacher first (people set-role ${teacher.username} teacher).`,
            error: true,
          };
        const template = o.template ? await catalog.get(o.template) : undefined;
        await store.transaction(async (tx) => {
          await tx.classes.createClass(
            { id: o.id, name: o.name, templateId: template?.id ?? null, ownerId: teacher?.id ?? null },
            clock.now(),
          );
          if (teacher) await tx.classes.addMember({ classId: o.id, personId: teacher.id, role: 'teacher' });
        });
        return {
          text: `Created ${o.id} (${o.name})${teacher ? `, taught by ${teacher.username}` : ''}${template ? `, deployed from ${template.name}` : ''}.`,
        };
      },
    }),
    list: subcommand({
      description: 'List classes (teachers see theirs; archived ones with --archived)',
      options: z.object({
        archived: z.boolean().default(false).describe('list the archived classes instead of the active ones'),
      }),
      positional: [],
      role: 'teacher',
      ephemeral: true,
      async run(ctx, o) {
        const { store } = ctx.services;
        const mine = new Set(await manageableClasses(ctx));
        const archived = new Set(
          (await store.classTerms.list()).filter((t) => t.archivedAt !== null).map((t) => t.classId),
        );
        const classes = (await store.classes.listClasses()).filter(
          (c) => mine.has(c.id) && archived.has(c.id) === o.archived,
        );
        const lines = await Promise.all(
          classes.map(async (c) => {
            const students = (await store.classes.members(c.id)).filter((m) => m.role === 'student').length;
            const template = c.templateId ? (await store.templates.get(c.templateId))?.name : undefined;
            return `${c.id} — ${c.name}: ${students} student(s), teachers ${(await teachersOf(ctx, c.id)).join(', ') || 'none'}${template ? `, template ${template}` : ''}`;
          }),
        );
        return {
          text: lines.length ? lines.join('\n') : o.archived ? 'No archived classes.' : 'No classes yet.',
          data: classes,
        };
      },
    }),
    show: subcommand({
      description: 'Show a class: teachers, template, students and whether their chat accounts are linked',
      options: z.object({ class: classIdOption }),
      positional: ['class'],
      role: 'teacher',
      ephemeral: true,
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        await mustTeachClass(ctx, o.class, 'see');
        const { store } = ctx.services;
        const klass = await classNamed(ctx, o.class);
        const template = klass.templateId ? (await store.templates.get(klass.templateId))?.name : undefined;
        const students = [];
        for (const m of (await store.classes.members(o.class)).filter((x) => x.role === 'student')) {
          const p = await store.classes.getPerson(m.personId);
          if (!p) continue;
          const linked = (await store.classes.identitiesOf(p.id))
            .filter((i) => i.platform !== 'cli')
            .map((i) => i.platform);
          students.push({ username: p.username, name: p.displayName, linked });
        }
        students.sort((a, b) => a.username.localeCompare(b.username));
        const term = await store.classTerms.get(o.class);
        const invites = (await store.invites.listForClass(o.class)).filter(
          (i) => i.expiresAt >= ctx.services.clock.now() && i.uses < i.maxUses,
        );
        return {
          text: [
            `${klass.id} — ${klass.name}`,
            `teachers: ${(await teachersOf(ctx, o.class)).join(', ') || 'none'}; template: ${template ?? 'none (set one with class set-template)'}; open invites: ${invites.length}`,
            `term: ${describeTerm(term)}`,
            `${students.length} student(s):`,
            ...students.map(
              (s) =>
                `  ${s.username} (${s.name})${s.linked.length ? ` — ${s.linked.join(', ')}` : ' — not linked yet'}`,
            ),
          ].join('\n'),
          data: { ...klass, template: template ?? null, students, term: term ?? null },
        };
      },
    }),
    'set-template': subcommand({
      description: 'Set the template a class deploys from (teachers of the class)',
      options: z.object({ class: classIdOption, template: z.string().min(1).describe('template name') }),
      positional: ['class', 'template'],
      role: 'teacher',
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        await mustTeachClass(ctx, o.class, 'change the template of');
        const klass = await classNamed(ctx, o.class);
        const template = await ctx.services.catalog.get(o.template);
        await ctx.services.store.classes.updateClass(klass.id, { templateId: template.id });
        return {
          text: `${o.class} now deploys from ${template.name}: /lab deploy ${o.class} <count> needs no template.`,
        };
      },
    }),
    enrol: subcommand({
      description: 'Enrol students in a class (teachers of the class)',
      options: z.object({ class: classIdOption, students: listOf(usernameOption, 'usernames of students') }),
      positional: ['class', 'students'],
      role: 'teacher',
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        await mustTeachClass(ctx, o.class, 'enrol students in');
        await classNamed(ctx, o.class);
        const { store } = ctx.services;
        const people = await Promise.all(
          o.students.map(async (u) => ({ u, p: await store.classes.getPersonByUsername(u) })),
        );
        const unknown = people.filter((x) => !x.p).map((x) => x.u);
        if (unknown.length)
          return {
            text: `No lab user(s) ${unknown.join(', ')}; nobody was enrolled. Add them with people add (admins) or let them join with an invite.`,
            error: true,
          };
        const notStudents = people.filter((x) => x.p!.role !== 'student').map((x) => x.u);
        if (notStudents.length)
          return {
            text: `${notStudents.join(', ')} ${notStudents.length > 1 ? 'are not students' : 'is not a student'}; nobody was enrolled. Teachers join a class with class add-teacher.`,
            error: true,
          };
        await store.transaction(async (tx) => {
          for (const { p } of people)
            await tx.classes.addMember({ classId: o.class, personId: p!.id, role: 'student' });
        });
        return { text: `Enrolled ${o.students.join(', ')} in ${o.class}.` };
      },
    }),
    unenrol: subcommand({
      description: 'Take students out of a class (their VMs stay, as free seats, until the next deploy)',
      options: z.object({ class: classIdOption, students: listOf(usernameOption, 'usernames of students') }),
      positional: ['class', 'students'],
      role: 'teacher',
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        await mustTeachClass(ctx, o.class, 'unenrol students from');
        const { store } = ctx.services;
        const removed: string[] = [];
        const freed: string[] = [];
        await store.transaction(async (tx) => {
          const members = await tx.classes.members(o.class);
          const assignments = await tx.classes.assignmentsOfClass(o.class);
          for (const u of new Set(o.students)) {
            const p = await tx.classes.getPersonByUsername(u);
            const member = p && members.find((m) => m.personId === p.id);
            if (!p || !member) continue;
            if (member.role !== 'student')
              throw new NotAllowedError({
                actor: ctx.caller.viewer.username,
                action: 'unenrol',
                target: u,
                reason: `${u} teaches ${o.class}`,
              });
            const result = await unenrolStudent(tx, {
              classId: o.class,
              personId: p.id,
              at: ctx.services.clock.now(),
              assignments,
            });
            removed.push(u);
            freed.push(...result.freed.map((seat) => `${seat.name} (${seat.vmid})`));
          }
        });
        const missing = o.students.filter((u) => !removed.includes(u));
        return {
          text: `${removed.length ? `Unenrolled ${removed.join(', ')} from ${o.class}.` : 'Nobody was unenrolled.'}${freed.length ? ` ${freed.join(', ')}: no longer theirs, kept as ${freed.length === 1 ? 'a free seat' : 'free seats'} until the next deploy.` : ''}${missing.length ? ` Not in ${o.class}: ${missing.join(', ')}.` : ''}`,
        };
      },
    }),
    'add-teacher': subcommand({
      description: 'Add a (co-)teacher to a class (admins)',
      options: z.object({ class: classIdOption, teacher: usernameOption }),
      positional: ['class', 'teacher'],
      role: 'admin',
      async run(ctx, o) {
        await classNamed(ctx, o.class);
        const person = await personNamed(ctx, o.teacher);
        if (person.role === 'student')
          return {
            text: `${person.username} is a student; make them a teacher first (people set-role ${person.username} teacher).`,
            error: true,
          };
        await ctx.services.store.classes.addMember({ classId: o.class, personId: person.id, role: 'teacher' });
        return { text: `${person.username} now teaches ${o.class}.` };
      },
    }),
    export: subcommand({
      description: "The class's roster as a CSV that people import reads back (lab class export cs101 > cs101.csv)",
      options: z.object({ class: classIdOption }),
      positional: ['class'],
      role: 'teacher',
      ephemeral: true,
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        await mustTeachClass(ctx, o.class, 'export the roster of');
        await classNamed(ctx, o.class);
        const csv = await exportRosterCsv(ctx.services.store, { classId: o.class });
        return {
          text: csv.trimEnd(),
          data: { classId: o.class, csv },
          attachments: [{ filename: `${o.class}.csv`, contentType: 'text/csv', content: csv }],
        };
      },
    }),
    pin: subcommand({
      description: "Pin a class's VMs to nodes, or --clear the pin; without nodes, show it (admins)",
      options: z.object({
        class: classIdOption,
        nodes: z
          .preprocess(
            // `pve1,pve2`, `pve1 pve2` or both, as one string (Discord) or as the words of the text.
            (v) =>
              (typeof v === 'string' ? [v] : Array.isArray(v) ? v : [])
                .flatMap((x: unknown) => String(x).split(/[\s,]+/))
                .filter(Boolean),
            z
              .array(
                z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, 'a node name is letters, digits, dots or dashes'),
              )
              .min(1, 'give at least one'),
          )
          .optional()
          .describe('nodes its students may be placed on, e.g. pve1,pve2'),
        clear: z.boolean().default(false).describe('remove the pin: the class may use every node'),
      }),
      positional: ['class', 'nodes'],
      role: 'admin',
      autocomplete: { class: manageableClasses },
      async run(ctx, o) {
        const klass = await classNamed(ctx, o.class);
        if (o.clear && o.nodes)
          return { text: `Give nodes or --clear, not both (class pin ${o.class} pve1,pve2).`, error: true };
        const actor = ctx.caller.person.username;
        if (o.clear) {
          await ctx.services.engine.pinClass(o.class, null, actor);
          return {
            text: `${o.class} is no longer pinned: its students spread over every node that can hold them from the next deploy.`,
            data: { classId: o.class, pinnedNodes: null },
          };
        }
        if (!o.nodes) {
          const pinned = klass.pinnedNodes ?? null;
          return {
            text: pinned?.length
              ? `${o.class} is pinned to ${pinned.join(', ')}.`
              : `${o.class} is not pinned: its students spread over every node that can hold them.`,
            data: { classId: o.class, pinnedNodes: pinned },
          };
        }
        const pinned = await ctx.services.engine.pinClass(o.class, o.nodes, actor);
        return {
          text: `${o.class} is pinned to ${pinned!.join(', ')}: from the next deploy its students are placed only there, spread evenly (existing VMs stay where they are).`,
          data: { classId: o.class, pinnedNodes: pinned },
        };
      },
    }),
    'set-login': classLoginSubcommand,
    'set-end': setEndSubcommand,
    'destroy-vms': destroyVmsSubcommand,
    archive: archiveSubcommand,
    invite: inviteSubcommand,
    'set-lab': setLabSubcommand,
    lab: labSubcommand,
    'export-terraform': terraformExportSubcommand,
  },
};

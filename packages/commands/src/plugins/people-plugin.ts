import { z } from 'zod';
import {
  cleanDisplayName,
  DISPLAY_NAME_MAX,
  exportRosterCsv,
  importRoster,
  linkChatAccount,
  type PersonRecord,
} from '@lab/proxmox-sdk';
import { InvalidChatAccountError, PersonOwnsVmsError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext, type CommandPlugin } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { identityFormatOf, identityFormatsOf } from '../identity-formats.js';
import { UnknownFrontEndError } from '../front-end-errors.js';
import { emailOption, personNamed, roleOption, usernameOption } from './onboarding-options.js';
import {
  approveJoinSubcommand,
  joinRequestsSubcommand,
  peopleUnlinkSubcommand,
  rejectJoinSubcommand,
} from './join-request-subcommands.js';

/** How many people `people list` shows unless told otherwise (as `lab vms`). */
const PEOPLE_PAGE = 100;

async function describePerson(ctx: CommandContext, p: PersonRecord): Promise<string> {
  const { store } = ctx.services;
  const identities = (await store.classes.identitiesOf(p.id))
    .filter((i) => i.platform !== 'cli')
    .map((i) => `${i.platform} ${i.externalId}`);
  const classes = (await store.classes.classesOf(p.id)).map((m) =>
    m.role === 'teacher' ? `${m.classId} (teacher)` : m.classId,
  );
  return `${p.username} — ${p.displayName}${p.email ? ` <${p.email}>` : ''}, ${p.role}${classes.length ? `; classes: ${classes.join(', ')}` : ''}${identities.length ? `; linked: ${identities.join(', ')}` : ''}`;
}

/** `people`: the lab's people, their roles and chat accounts, and roster imports (admins). */
export const peoplePlugin: CommandPlugin = {
  name: 'people',
  description: 'Add, list and remove lab people, import a roster (admins)',
  subcommands: {
    add: subcommand({
      description: 'Add a person',
      options: z.object({
        username: usernameOption,
        name: z.string().min(1).describe(`full name (at most ${DISPLAY_NAME_MAX} characters)`),
        email: emailOption.optional(),
        role: roleOption.default('student'),
      }),
      positional: ['username'],
      role: 'admin',
      async run(ctx, o) {
        const person = await ctx.services.store.classes.createPerson(
          { username: o.username, displayName: cleanDisplayName(o.name), email: o.email ?? null, role: o.role },
          ctx.services.clock.now(),
        );
        return { text: `Added ${person.username} (${person.displayName}) as ${person.role}.`, data: person };
      },
    }),
    list: subcommand({
      description: 'List everyone, with role and classes (a page of 100 unless limit or all says otherwise)',
      options: z.object({
        role: roleOption.optional(),
        limit: wholeNumber(`list at most this many (default ${PEOPLE_PAGE})`, 1, 1_000_000)
          .optional()
          .describe(`list at most this many (default ${PEOPLE_PAGE})`),
        all: z.boolean().optional().describe('list everyone, however many'),
      }),
      positional: ['role'],
      role: 'admin',
      ephemeral: true,
      async run(ctx, o) {
        const matching = (await ctx.services.store.classes.listPeople()).filter((p) => !o.role || p.role === o.role);
        const people = o.all ? matching : matching.slice(0, o.limit ?? PEOPLE_PAGE);
        const lines = await Promise.all(people.map((p) => describePerson(ctx, p)));
        if (people.length < matching.length)
          lines.push(
            `(the first ${people.length} of ${matching.length}; ${ctx.caller.platform === 'discord' ? 'set limit or all' : '--limit <n> lists more, --all everyone'})`,
          );
        return {
          text: lines.length ? lines.join('\n') : 'No people yet; add them with people add or people import.',
          data: people,
        };
      },
    }),
    show: subcommand({
      description: 'Show one person: role, email, classes, linked chat accounts, VMs',
      options: z.object({ username: usernameOption }),
      positional: ['username'],
      role: 'admin',
      ephemeral: true,
      async run(ctx, o) {
        const person = await personNamed(ctx, o.username);
        const vms = await ctx.services.store.classes.assignmentsOf(person.id);
        return {
          text: `${await describePerson(ctx, person)}\nVMs: ${vms.length ? vms.map((v) => `${v.vmid}${v.classId ? ` (${v.classId})` : ''}`).join(', ') : 'none'}`,
          data: { ...person, vms },
        };
      },
    }),
    'set-role': subcommand({
      description: "Change a person's role",
      options: z.object({ username: usernameOption, role: roleOption }),
      positional: ['username', 'role'],
      role: 'admin',
      async run(ctx, o) {
        const person = await personNamed(ctx, o.username);
        if (person.id === ctx.caller.person.id && o.role !== 'admin')
          return { text: 'You cannot take away your own admin role; ask another admin.', error: true };
        const updated = await ctx.services.store.classes.updatePerson(person.id, { role: o.role });
        return {
          text: `${updated.username} is now ${updated.role === 'admin' ? 'an admin' : `a ${updated.role}`}.`,
          data: updated,
        };
      },
    }),
    remove: subcommand({
      description: 'Remove a person with their chat links and memberships (refused while they own VMs, unless --force)',
      options: z.object({
        username: usernameOption,
        force: z.boolean().default(false).describe('remove even if they own VMs (the VMs stay, without an owner)'),
      }),
      positional: ['username'],
      role: 'admin',
      async run(ctx, o) {
        const { store } = ctx.services;
        const person = await personNamed(ctx, o.username);
        if (person.id === ctx.caller.person.id)
          return { text: 'You cannot remove yourself; ask another admin.', error: true };
        const vms = await store.classes.assignmentsOf(person.id);
        if (vms.length && !o.force)
          throw new PersonOwnsVmsError(
            person.username,
            vms.map((v) => v.vmid),
          );
        await store.classes.deletePerson(person.id);
        return {
          text: `Removed ${person.username}${vms.length ? `; their ${vms.length} VM(s) now have no owner` : ''}.`,
          data: { username: person.username, orphanedVms: vms.map((v) => v.vmid) },
        };
      },
    }),
    signout: subcommand({
      description: "End a person's web portal sessions in every browser and every process (admins)",
      options: z.object({ username: usernameOption }),
      positional: ['username'],
      role: 'admin',
      async run(ctx, o) {
        const { store, clock } = ctx.services;
        const person = await personNamed(ctx, o.username);
        const ended = await store.webSessions.revokeForPerson(person.id, clock.now());
        return {
          text: ended
            ? `Signed ${person.username} out of the web portal (${ended} session${ended === 1 ? '' : 's'} ended).`
            : `${person.username} was not signed in to the web portal.`,
          data: { username: person.username, ended },
        };
      },
    }),
    link: subcommand({
      description: "Link a person's Slack, Discord or other front end's account (admins)",
      options: z.object({
        username: usernameOption,
        slack: z.string().min(1).optional().describe('Slack user id (U0123ABCD) or mention'),
        discord: z.string().min(1).optional().describe('Discord user id or mention'),
        account: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .describe("another front end's account as platform:id (mattermost:q8k3z1)"),
      }),
      positional: ['username'],
      role: 'admin',
      async run(ctx, o) {
        const given = [
          ...(o.slack !== undefined ? [{ platform: 'slack', text: o.slack }] : []),
          ...(o.discord !== undefined ? [{ platform: 'discord', text: o.discord }] : []),
          ...(o.account !== undefined ? [splitAccount(ctx, o.account)] : []),
        ];
        const accounts = given.map(({ platform, text }) => {
          const format = identityFormatOf(ctx.services, platform);
          const id = format?.parse(text);
          if (!format || !id) throw new InvalidChatAccountError(platform, text, format);
          return { platform, label: format.label, id };
        });
        if (!accounts.length)
          return {
            text: `Name an account: people link ${o.username} --slack U0123ABCD and/or --discord 123456789012345678.`,
            error: true,
          };
        await personNamed(ctx, o.username);
        await ctx.services.store.transaction(async (tx) => {
          for (const a of accounts)
            await linkChatAccount(
              { store: tx, clock: ctx.services.clock },
              {
                actor: ctx.caller.viewer,
                platform: a.platform,
                platformLabel: a.label,
                externalId: a.id,
                username: o.username,
              },
            );
        });
        return { text: `Linked ${accounts.map((a) => `${a.platform} ${a.id}`).join(' and ')} to ${o.username}.` };
      },
    }),
    unlink: peopleUnlinkSubcommand,
    requests: joinRequestsSubcommand,
    approve: approveJoinSubcommand,
    reject: rejectJoinSubcommand,
    export: subcommand({
      description: 'Everyone as a roster CSV that people import reads back (lab people export > people.csv)',
      options: z.object({}),
      positional: [],
      role: 'admin',
      ephemeral: true,
      async run(ctx) {
        const csv = await exportRosterCsv(ctx.services.store);
        return {
          text: csv.trimEnd(),
          data: { csv },
          attachments: [{ filename: 'people.csv', contentType: 'text/csv', content: csv }],
        };
      },
    }),
    import: subcommand({
      description: 'Import a roster CSV (username,name,email,role,class,slack,discord): a dry run unless --apply',
      options: z.object({
        csv: z
          .string({ error: 'give the roster: lab people import roster.csv' })
          .min(1, 'the roster is empty')
          .describe('the roster CSV text (the CLI reads it from the file you name)'),
        apply: z.boolean().default(false).describe('write the changes (default: only show them)'),
      }),
      positional: ['csv'],
      fileOptions: ['csv'],
      role: 'admin',
      async run(ctx, o) {
        const report = await importRoster({ store: ctx.services.store, clock: ctx.services.clock }, o.csv, {
          apply: o.apply,
          formats: identityFormatsOf(ctx.services),
        });
        const changes = report.plans
          .filter((p) => p.changes.length)
          .map((p) => `line ${p.line}: ${p.username}: ${p.changes.join(', ')}`);
        const problems = report.problems.map((p) => `line ${p.line}: ${p.message}`);
        if (problems.length) {
          return {
            text: `${problems.length} bad row(s)${o.apply ? '; nothing was imported' : ''}. Fix them and run again:\n${problems.join('\n')}`,
            data: report,
            error: true,
          };
        }
        if (!report.changed)
          return { text: `All ${report.rows} row(s) already match the lab; nothing to change.`, data: report };
        return {
          text: report.applied
            ? `Imported ${report.rows} row(s); ${report.changed} changed:\n${changes.join('\n')}`
            : `Dry run: ${report.changed} of ${report.rows} row(s) would change (run again with --apply to do it):\n${changes.join('\n')}`,
          data: report,
        };
      },
    }),
  },
};

/**
 * `--account platform:id`, split at the first colon; a platform no front end registered (or one whose
 * accounts are not linked by hand) is refused with the ones that are.
 */
function splitAccount(ctx: CommandContext, given: string): { platform: string; text: string } {
  const at = given.indexOf(':');
  const platform = at > 0 ? given.slice(0, at).toLowerCase() : '';
  const format = identityFormatOf(ctx.services, platform);
  if (!format || format.linkable === false)
    throw new UnknownFrontEndError(
      platform || given,
      identityFormatsOf(ctx.services)
        .filter((f) => f.linkable !== false)
        .map((f) => f.platform),
    );
  return { platform, text: given.slice(at + 1) };
}

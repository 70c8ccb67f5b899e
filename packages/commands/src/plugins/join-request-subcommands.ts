import { z } from 'zod';
import { decideJoinRequest, decidesJoinsOf, unlinkChatAccount } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Subcommand } from '../command-plugin.js';
import { usernameOption } from './onboarding-options.js';
import { identityFormatOf, identityFormatsOf } from '../identity-formats.js';

/** The platforms whose accounts are linked to people (not the CLI's operating-system users). */
function linkablePlatforms(ctx: CommandContext): string[] {
  return identityFormatsOf(ctx.services)
    .filter((f) => f.linkable !== false)
    .map((f) => f.platform);
}

const requestIdOption = z
  .string({ error: 'name a join request, e.g. people approve K7PQ2M9A (people requests lists them)' })
  .regex(/^[A-Za-z0-9]{8}$/, 'a join request id is 8 letters and digits, e.g. K7PQ2M9A')
  .transform((s) => s.toUpperCase())
  .describe('join request id (people requests lists them)');

const platformOption = z
  .string({ error: 'name a platform, e.g. slack or discord' })
  .regex(/^[a-z][a-z0-9-]{1,31}$/, 'a platform is a front end id such as slack or discord')
  .describe('slack, discord or another front end with chat accounts');

function decide(approve: boolean): Subcommand {
  return subcommand({
    description: approve
      ? 'Approve a join request: link the chat account to the roster student and enrol them'
      : 'Reject a join request: the chat account stays unlinked',
    options: z.object({ request: requestIdOption }),
    positional: ['request'],
    role: 'teacher',
    async run(ctx, o) {
      const { request, person } = await decideJoinRequest(
        { store: ctx.services.store, clock: ctx.services.clock },
        { actor: ctx.caller.viewer, id: o.request, approve },
      );
      const account = `the ${request.platform} account ${request.externalId}`;
      const text = approve
        ? `Approved: ${account} is now ${person.username} in ${request.classId}.`
        : `Rejected: ${account} is not linked to ${person.username}.`;
      if (approve)
        await ctx.services.notifier
          ?.notifyPerson(
            { personId: person.id, username: person.username },
            `Your request to join ${request.classId} as ${person.username} was approved; /myvm status shows your VM.`,
          )
          .catch(() => false);
      return { text, data: request };
    },
  });
}

/** `people approve <request>`: a teacher of the class (or an admin) lets a chat account claim a roster name. */
export const approveJoinSubcommand: Subcommand = decide(true);
/** `people reject <request>`. */
export const rejectJoinSubcommand: Subcommand = decide(false);

/** `people requests [class]`: the pending join requests of the caller's classes (every class for admins). */
export const joinRequestsSubcommand: Subcommand = subcommand({
  description: 'List the pending join requests of your classes',
  options: z.object({}),
  positional: [],
  role: 'teacher',
  ephemeral: true,
  async run(ctx) {
    const { store, clock } = ctx.services;
    const now = clock.now();
    const pending = [];
    for (const r of await store.invites.joinRequests({ status: 'pending' }))
      if (r.expiresAt >= now && (await decidesJoinsOf(store, ctx.caller.viewer, r.classId))) pending.push(r);
    const lines = await Promise.all(
      pending.map(
        async (r) =>
          `${r.id}: the ${r.platform} account ${r.externalId} claims to be ${(await store.classes.getPerson(r.personId))?.username ?? '(removed)'} in ${r.classId}`,
      ),
    );
    return {
      text: lines.length
        ? `${lines.join('\n')}\nApprove with people approve <id>, or reject with people reject <id>.`
        : 'No join requests are waiting.',
      // The request without the hash of the invite code it came with.
      data: pending.map(({ codeHash: _codeHash, ...shown }) => shown),
    };
  },
});

async function unlink(ctx: CommandContext, username: string, platform: string) {
  const format = identityFormatOf(ctx.services, platform);
  if (!format || format.linkable === false)
    return {
      text: `${platform} has no chat accounts to unlink; name one of ${linkablePlatforms(ctx).join(', ')}.`,
      error: true,
    };
  const identity = await unlinkChatAccount(
    { store: ctx.services.store, clock: ctx.services.clock },
    { actor: ctx.caller.viewer, username, platform },
  );
  return {
    text: `Unlinked the ${platform} account ${identity.externalId} from ${username}; it may join again with an invite code, which a teacher approves.`,
    data: identity,
  };
}

/** `people unlink <username> <platform>` (teachers for their students, admins for anyone). */
export const peopleUnlinkSubcommand: Subcommand = subcommand({
  description: "Unlink a person's Slack or Discord account (audited)",
  options: z.object({ username: usernameOption, platform: platformOption }),
  positional: ['username', 'platform'],
  role: 'teacher',
  run: (ctx, o) => unlink(ctx, o.username, o.platform),
});

/** `/lab unlink [username]`: unlink your own chat account, or (teachers, admins) a student's on this platform. */
export const labUnlinkSubcommand: Subcommand = subcommand({
  description: 'Unlink your chat account from the lab (teachers: a student of yours)',
  options: z.object({ username: usernameOption.optional().describe('whose account (teachers and admins)') }),
  positional: ['username'],
  role: 'student',
  ephemeral: true,
  async run(ctx, o) {
    const { platform } = ctx.caller;
    if (identityFormatOf(ctx.services, platform)?.linkable === false)
      return { text: `Here use people unlink <username> <${linkablePlatforms(ctx).join('|')}>.`, error: true };
    return unlink(ctx, o.username ?? ctx.caller.person.username, platform);
  },
});

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

/**
 * `people requests`: the pending join requests of the caller's classes (every class for admins),
 * each with its conflicts: another pending request claiming the same roster name, or a name that
 * already has an account on the request's platform.
 */
export const joinRequestsSubcommand: Subcommand = subcommand({
  description: 'List the pending join requests of your classes, flagging conflicting claims',
  options: z.object({}),
  positional: [],
  role: 'teacher',
  ephemeral: true,
  async run(ctx) {
    const { store, clock } = ctx.services;
    const now = clock.now();
    const live = (await store.invites.joinRequests({ status: 'pending' })).filter((r) => r.expiresAt >= now);
    const pending = [];
    for (const r of live) if (await decidesJoinsOf(store, ctx.caller.viewer, r.classId)) pending.push(r);
    const shown = await Promise.all(
      pending.map(async (r) => {
        const username = (await store.classes.getPerson(r.personId))?.username ?? '(removed)';
        const linked = (await store.classes.identitiesOf(r.personId)).filter((i) => i.platform === r.platform);
        const conflicts = [
          ...live
            .filter((other) => other.id !== r.id && other.personId === r.personId)
            .map(
              (other) =>
                `request ${other.id} (the ${other.platform} account ${other.externalId}) claims ${username} too`,
            ),
          ...linked.map((i) => `${username} already has the ${i.platform} account ${i.externalId} linked`),
        ];
        return { request: r, username, conflicts };
      }),
    );
    const lines = shown.map(
      ({ request: r, username, conflicts }) =>
        `${r.id}: the ${r.platform} account ${r.externalId} claims to be ${username} in ${r.classId}${conflicts.length ? ` — conflict: ${conflicts.join('; ')}` : ''}`,
    );
    const conflicting = shown.some((s) => s.conflicts.length > 0);
    return {
      text: lines.length
        ? [
            ...lines,
            ...(conflicting
              ? ['Conflicting claims: approve at most one per name, and only once you know whose account it is.']
              : []),
            'Approve with people approve <id>, or reject with people reject <id>.',
          ].join('\n')
        : 'No join requests are waiting.',
      // The request without the hash of the invite code it came with.
      data: shown.map(({ request: { codeHash: _codeHash, ...rest }, conflicts }) => ({ ...rest, conflicts })),
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

/** What a student who cannot unlink here (the CLI, the web portal) can do instead. */
function unlinkFromChatText(ctx: CommandContext): string {
  const chats = identityFormatsOf(ctx.services)
    .filter((f) => f.linkable !== false)
    .map((f) => f.label);
  const where = chats.length ? `type /lab unlink in ${chats.join(' or ')}, signed in with the account to unlink` : '';
  return where
    ? `Your chat account is unlinked from the chat itself: ${where}. If you cannot use that account any more, ask your teacher to unlink it.`
    : 'You have no chat account to unlink here; ask your teacher if one is linked to you by mistake.';
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
    const own = identityFormatOf(ctx.services, platform);
    if (!own || own.linkable === false)
      return ctx.caller.viewer.role === 'student'
        ? { text: unlinkFromChatText(ctx), error: true }
        : { text: `Here use people unlink <username> <${linkablePlatforms(ctx).join('|')}>.`, error: true };
    return unlink(ctx, o.username ?? ctx.caller.person.username, platform);
  },
});

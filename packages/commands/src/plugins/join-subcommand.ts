import { z } from 'zod';
import { identityFormatsOf } from '../identity-formats.js';
import { classesTaughtBy, joinWithInvite } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type Subcommand } from '../command-plugin.js';
import { usernameOption } from './onboarding-options.js';

/**
 * `/lab join <code> [username]`: a student joins a class with the code their teacher handed out.
 * Works for chat accounts the lab does not know yet; the code stays out of the audit log.
 */
export const joinSubcommand: Subcommand = subcommand({
  description: 'Join a class with the invite code your teacher gave you',
  options: z.object({
    code: z
      .string({ error: 'type the invite code, e.g. /lab join ABCDE-FGHJK' })
      .min(1)
      .max(40)
      .describe('invite code from your teacher'),
    username: usernameOption.optional().describe('your username, if your teacher gave you one'),
  }),
  positional: ['code', 'username'],
  role: 'student',
  allowUnknown: true,
  sensitiveOptions: ['code'],
  ephemeral: true,
  async run(ctx, o) {
    const { platform, platformUserId } = ctx.caller;
    if (platform === 'cli')
      return {
        text: 'Invite codes are for Slack and Discord; from the CLI an admin adds people with people add.',
        error: true,
      };
    // Web users are signed in by the school's provider and mapped to their lab person; codes are not for them.
    if (platform === 'web')
      return { text: 'Invite codes are for Slack and Discord; ask your teacher to add you to the lab.', error: true };
    const result = await joinWithInvite(
      { store: ctx.services.store, clock: ctx.services.clock },
      {
        code: o.code,
        platform,
        externalId: platformUserId,
        chatPlatforms: identityFormatsOf(ctx.services)
          .filter((f) => f.linkable !== false)
          .map((f) => f.platform),
        ...(o.username ? { username: o.username } : {}),
      },
    );
    if (result.request) {
      const told = await tellDeciders(ctx, result.request.id, result.classId, result.person.username);
      return {
        text: `Your request to join ${result.classId} as ${result.person.username} waits for a teacher of ${result.classId} to approve it${told ? ' (they have been told)' : ''}; you get a message when it is approved.`,
        data: { classId: result.classId, username: result.person.username, request: result.request.id },
      };
    }
    const hasVm = (await ctx.services.store.classes.assignmentsOfClass(result.classId)).some(
      (a) => a.personId === result.person.id,
    );
    return {
      text: `Welcome to ${result.classId}, ${result.person.username}! ${hasVm ? '/myvm status shows your VM.' : 'You have no VM in it yet; your teacher gives you one with the next /lab deploy, and /myvm status shows it then.'}`,
      data: { classId: result.classId, username: result.person.username, created: result.created },
    };
  },
});

/**
 * Tells the class's teachers (else the admins) of a join request by direct message; true when
 * at least one got it.
 */
async function tellDeciders(ctx: CommandContext, id: string, classId: string, username: string): Promise<boolean> {
  const { store, notifier } = ctx.services;
  if (!notifier) return false;
  const people = await store.classes.listPeople();
  const teachers = [];
  for (const p of people.filter((x) => x.role === 'teacher'))
    if ((await classesTaughtBy(store, p.id)).includes(classId)) teachers.push(p);
  const deciders = teachers.length ? teachers : people.filter((p) => p.role === 'admin');
  const text = `A ${ctx.caller.platform} account asks to join ${classId} as ${username} with the class's invite code (request ${id}). If that is ${username}, approve it with people approve ${id}; otherwise people reject ${id}.`;
  const sent = await Promise.all(
    deciders.map((p) => notifier.notifyPerson({ personId: p.id, username: p.username }, text).catch(() => false)),
  );
  return sent.some(Boolean);
}

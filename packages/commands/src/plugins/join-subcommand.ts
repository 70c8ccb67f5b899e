import { z } from 'zod';
import { joinWithInvite } from '@lab/proxmox-sdk';
import { subcommand, type Subcommand } from '../command-plugin.js';
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
      { code: o.code, platform, externalId: platformUserId, ...(o.username ? { username: o.username } : {}) },
    );
    const hasVm = (await ctx.services.store.classes.assignmentsOfClass(result.classId)).some(
      (a) => a.personId === result.person.id,
    );
    return {
      text: `Welcome to ${result.classId}, ${result.person.username}! ${hasVm ? '/myvm status shows your VM.' : 'You have no VM in it yet; your teacher gives you one with the next /lab deploy, and /myvm status shows it then.'}`,
      data: { classId: result.classId, username: result.person.username, created: result.created },
    };
  },
});

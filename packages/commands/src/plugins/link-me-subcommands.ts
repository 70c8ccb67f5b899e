import { z } from 'zod';
import { issueLinkCode, redeemLinkCode } from '@lab/proxmox-sdk';
import { LinkCodeFromChatError } from '@lab/proxmox-sdk/errors';
import { subcommand, type Subcommand } from '../command-plugin.js';

const CHAT_NAME: Record<string, string> = { slack: 'Slack', discord: 'Discord' };

/**
 * `/lab link-me <code>`: links the chat account that types it to the person who got the code on the
 * lab portal's Link my chat account page, where the school's sign-in proved who they are. Works
 * for chat accounts the lab does not know yet; the code stays out of the audit log.
 */
export const linkMeSubcommand: Subcommand = subcommand({
  description: 'Link this chat account to you, with the code from Link my chat account on the lab portal',
  options: z.object({
    code: z
      .string({ error: 'type the code the lab portal shows you, e.g. /lab link-me ABCDE-FGHJK' })
      .min(1)
      .max(40)
      .describe('code from Link my chat account on the lab portal'),
  }),
  positional: ['code'],
  role: 'student',
  allowUnknown: true,
  sensitiveOptions: ['code'],
  ephemeral: true,
  async run(ctx, o) {
    const { platform, platformUserId } = ctx.caller;
    if (platform === 'cli' || platform === 'web')
      return {
        text: 'Type /lab link-me with your code in Slack or Discord, in the account you want to link.',
        error: true,
      };
    const { person, alreadyLinked } = await redeemLinkCode(
      { store: ctx.services.store, clock: ctx.services.clock },
      { code: o.code, platform, externalId: platformUserId },
    );
    const name = CHAT_NAME[platform] ?? platform;
    return {
      text: alreadyLinked
        ? `This ${name} account was linked to ${person.username} already; nothing changed.`
        : `This ${name} account is now linked to ${person.username}. /myvm status shows your VMs.`,
      data: { username: person.username, platform, alreadyLinked },
    };
  },
});

/**
 * `/myvm link-code`: a one-time code for `/lab link-me`, for a person whose identity the front end
 * proved (the web portal's school sign-in). Refused from a chat account: that is what it links.
 */
export const linkCodeSubcommand: Subcommand = subcommand({
  description: 'A one-time code to link a Slack or Discord account to you (on the lab portal)',
  options: z.object({}),
  positional: [],
  role: 'student',
  ephemeral: true,
  async run(ctx) {
    const { platform, person } = ctx.caller;
    if (platform !== 'web' && platform !== 'cli') throw new LinkCodeFromChatError(CHAT_NAME[platform] ?? platform);
    const { code, expiresAt } = await issueLinkCode(
      { store: ctx.services.store, clock: ctx.services.clock },
      { personId: person.id, actor: person.username },
    );
    const minutes = Math.round((expiresAt - ctx.services.clock.now()) / 60_000);
    return {
      text: `Type /lab link-me ${code} in Slack or Discord within ${minutes} minutes, from the account you want to link. The code works once.`,
      data: { code, expiresAt },
    };
  },
});

import { REST, Routes } from 'discord.js';
import type { Logger, PersonNotifier, Store } from '@lab/proxmox-sdk';
import { directMessageNotifier } from '@lab/commands';
import { discordContent } from './discord-text.js';

/**
 * A `PersonNotifier` over Discord: the person's linked Discord account gets a DM from the bot
 * (`POST /users/@me/channels`, then a message in that channel). False when they have no Discord
 * account or Discord refused (DMs closed); the error is logged, never thrown.
 */
export function createDiscordPersonNotifier(options: { rest: REST; store: Store; logger?: Logger }): PersonNotifier {
  return directMessageNotifier({
    platform: 'discord',
    platformName: 'Discord',
    store: options.store,
    logger: options.logger,
    async sendDirectMessage(externalId, text) {
      const channel = (await options.rest.post(Routes.userChannels(), { body: { recipient_id: externalId } })) as {
        id?: string;
      };
      if (!channel.id) throw new Error('Discord opened no DM channel');
      await options.rest.post(Routes.channelMessages(channel.id), { body: discordContent(text) });
    },
  });
}

/**
 * A Discord `PersonNotifier` from the bot token alone, for a process that serves another front end
 * (Slack) but must still DM people whose only chat account is on Discord.
 */
export function createDiscordTokenNotifier(options: {
  token: string;
  /** Discord API base URL. @defaultValue Discord's */
  apiUrl?: string;
  store: Store;
  logger?: Logger;
}): PersonNotifier {
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {}).setToken(options.token);
  return createDiscordPersonNotifier({
    rest,
    store: options.store,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

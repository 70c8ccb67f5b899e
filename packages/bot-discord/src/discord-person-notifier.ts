import { Routes, type REST } from 'discord.js';
import { silentLogger, type Logger, type PersonNotifier, type Store } from '@lab/proxmox-sdk';

/**
 * A `PersonNotifier` over Discord: the person's linked Discord account gets a DM from the bot
 * (`POST /users/@me/channels`, then a message in that channel). False when they have no Discord
 * account or Discord refused (DMs closed); the error is logged, never thrown.
 */
export function createDiscordPersonNotifier(options: { rest: REST; store: Store; logger?: Logger }): PersonNotifier {
  const logger = options.logger ?? silentLogger;
  return {
    async notifyPerson(person, text) {
      const accounts = (await options.store.classes.identitiesOf(person.personId)).filter(
        (i) => i.platform === 'discord',
      );
      let delivered = false;
      for (const account of accounts) {
        try {
          const channel = (await options.rest.post(Routes.userChannels(), {
            body: { recipient_id: account.externalId },
          })) as { id?: string };
          if (!channel.id) throw new Error('Discord opened no DM channel');
          await options.rest.post(Routes.channelMessages(channel.id), {
            body: { content: text, allowed_mentions: { parse: [] } },
          });
          delivered = true;
        } catch (error) {
          logger.warn('could not send a Discord direct message', { username: person.username, error });
        }
      }
      return delivered;
    },
  };
}

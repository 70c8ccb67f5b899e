import { silentLogger, type Logger, type PersonNotifier, type Store } from '@lab/proxmox-sdk';

/** The part of Slack's Web API a direct message needs (`app.client` fits). */
export interface SlackDmApi {
  conversations: { open(args: { users: string }): Promise<{ channel?: { id?: string } }> };
  chat: { postMessage(args: { channel: string; text: string }): Promise<unknown> };
}

/**
 * A `PersonNotifier` over Slack: the person's linked Slack account gets a DM from the bot
 * (`conversations.open`, then `chat.postMessage`). False when they have no Slack account or Slack
 * refused; the error is logged, never thrown.
 */
export function createSlackPersonNotifier(options: {
  client: SlackDmApi;
  store: Store;
  logger?: Logger;
}): PersonNotifier {
  const logger = options.logger ?? silentLogger;
  return {
    async notifyPerson(person, text) {
      const accounts = (await options.store.classes.identitiesOf(person.personId)).filter(
        (i) => i.platform === 'slack',
      );
      let delivered = false;
      for (const account of accounts) {
        try {
          const dm = await options.client.conversations.open({ users: account.externalId });
          if (!dm.channel?.id) throw new Error('Slack opened no DM channel');
          await options.client.chat.postMessage({ channel: dm.channel.id, text });
          delivered = true;
        } catch (error) {
          logger.warn('could not send a Slack direct message', { username: person.username, error });
        }
      }
      return delivered;
    },
  };
}

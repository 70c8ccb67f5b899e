import { boltLogger } from './bolt-logger.js';
import type { SlackChatApi } from './slack-progress.js';
import { escapeSlackText } from './slack-text.js';
import { webApi } from '@slack/bolt';
import type { Logger, PersonNotifier, Store } from '@lab/proxmox-sdk';
import { directMessageNotifier } from '@lab/commands';

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
  return directMessageNotifier({
    platform: 'slack',
    platformName: 'Slack',
    store: options.store,
    logger: options.logger,
    async sendDirectMessage(externalId, text) {
      const dm = await options.client.conversations.open({ users: externalId });
      if (!dm.channel?.id) throw new Error('Slack opened no DM channel');
      await options.client.chat.postMessage({ channel: dm.channel.id, text: escapeSlackText(text) });
    },
  });
}

/**
 * A Slack `PersonNotifier` from the bot token alone, for a process that serves another front end
 * (Discord) but must still DM people whose only chat account is on Slack.
 */
export function createSlackTokenNotifier(options: {
  botToken: string;
  /** Slack Web API base URL. @defaultValue Slack's */
  apiUrl?: string;
  store: Store;
  logger?: Logger;
}): PersonNotifier {
  return createSlackPersonNotifier({
    client: slackWebClient(options.botToken, options.apiUrl, options.logger),
    store: options.store,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/**
 * The chat part of Slack's Web API from the bot token alone, for a process that serves another front
 * end (Discord) but must edit a Slack progress message in place after taking a deployment over.
 */
export function createSlackTokenChatApi(options: {
  botToken: string;
  /** Slack Web API base URL. @defaultValue Slack's */
  apiUrl?: string;
  logger?: Logger;
}): SlackChatApi {
  return slackWebClient(options.botToken, options.apiUrl, options.logger);
}

/** Slack's Web API client for a bot token, at `apiUrl` when given (a local fake in tests), logging through `logger`. */
function slackWebClient(
  botToken: string,
  apiUrl: string | undefined,
  logger: Logger | undefined,
): InstanceType<typeof webApi.WebClient> {
  return new webApi.WebClient(botToken, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    ...(logger ? { logger: boltLogger(logger) } : {}),
  });
}

import { silentLogger, type Logger, type Store } from '@lab/proxmox-sdk';
import type { CommandRouter, StartedFrontEnd } from '@lab/commands';
import { createSlackBot } from './slack-bot.js';
import { createSlackPersonNotifier } from './slack-person-notifier.js';

/** What {@link startSlackBot} needs: the command layer, the store (for DMs) and the Slack app's settings. */
export interface StartSlackBotOptions {
  router: CommandRouter;
  store: Store;
  signingSecret: string;
  botToken: string;
  /** Slack Web API base URL. @defaultValue Slack's */
  apiUrl?: string;
  /** Connect over Socket Mode with this app-level token (`xapp-…`) instead of serving HTTP. */
  socketModeAppToken?: string;
  logger?: Logger;
}

/**
 * The Slack front end of a `lab serve` process: the bot (connected, in Socket Mode), its request
 * listener, a direct-message notifier and the finisher of stored progress messages.
 */
export async function startSlackBot(options: StartSlackBotOptions): Promise<StartedFrontEnd> {
  const logger = options.logger ?? silentLogger;
  const bot = createSlackBot({
    router: options.router,
    signingSecret: options.signingSecret,
    botToken: options.botToken,
    logger,
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    ...(options.socketModeAppToken ? { socketModeAppToken: options.socketModeAppToken } : {}),
  });
  await bot.start();
  return {
    requestListener: bot.requestListener,
    notifier: createSlackPersonNotifier({ client: bot.app.client, store: options.store, logger }),
    finishDeployment: (deployment, summary) => bot.finishDeployment(deployment, summary),
    stop: () => bot.stop(),
    idle: () => bot.idle(),
    running: () => bot.running(),
  };
}

import { Client, GatewayIntentBits, REST } from 'discord.js';
import { silentLogger, type Logger, type Store } from '@lab/proxmox-sdk';
import { renderFinishedDeployment, type CommandRouter, type StartedFrontEnd } from '@lab/commands';
import { attachDiscordGatewayBot } from './discord-gateway-bot.js';
import { createDiscordInteractions } from './discord-interactions.js';
import { createDiscordPersonNotifier } from './discord-person-notifier.js';
import { finishDiscordProgress } from './finish-discord-progress.js';
import { routeDiscordLogs } from './discord-logs.js';

/** What {@link startDiscordBot} needs: the command layer, the store (for DMs) and the Discord application's settings. */
export type StartDiscordBotOptions = {
  router: CommandRouter;
  store: Store;
  /** Discord API base URL. @defaultValue Discord's */
  apiUrl?: string;
  logger?: Logger;
} & (
  | { mode: 'gateway'; /** The bot token; the gateway connection needs it. */ token: string }
  | {
      mode: 'interactions';
      applicationId: string;
      /** The application's public key (hex). */ publicKey: string;
      /** The bot token, for direct messages. */ token?: string;
    }
);

/**
 * The Discord front end of a `lab serve` process — over the gateway (logged in with discord.js) or
 * as an HTTP interactions endpoint — with a direct-message notifier and the finisher of stored
 * progress messages.
 */
export async function startDiscordBot(options: StartDiscordBotOptions): Promise<StartedFrontEnd> {
  const logger = options.logger ?? silentLogger;
  const { router, store } = options;
  if (options.mode === 'gateway') {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds],
      ...(options.apiUrl ? { rest: { api: options.apiUrl } } : {}),
    });
    routeDiscordLogs(logger, client.rest, client);
    const bot = attachDiscordGatewayBot({ client, router, logger });
    await client.login(options.token);
    return {
      requestListener: (_req, res) => void res.writeHead(404).end('gateway mode: no HTTP endpoint\n'),
      notifier: createDiscordPersonNotifier({ rest: client.rest, store, logger }),
      finishDeployment: (deployment, summary) =>
        finishDiscordProgress(
          { rest: client.rest, logger },
          deployment.notify,
          summary,
          renderFinishedDeployment(deployment, summary),
        ),
      stop: async () => {
        bot.detach();
        await client.destroy();
      },
      idle: bot.idle,
      running: bot.running,
    };
  }
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {});
  if (options.token) rest.setToken(options.token);
  routeDiscordLogs(logger, rest);
  const bot = createDiscordInteractions({
    router,
    publicKey: options.publicKey,
    applicationId: options.applicationId,
    rest,
    logger,
  });
  return {
    requestListener: bot.requestListener,
    notifier: createDiscordPersonNotifier({ rest, store, logger }),
    finishDeployment: (deployment, summary) =>
      finishDiscordProgress(
        { rest, logger },
        deployment.notify,
        summary,
        renderFinishedDeployment(deployment, summary),
      ),
    stop: () => Promise.resolve(),
    idle: () => bot.idle(),
    running: () => bot.running(),
  };
}

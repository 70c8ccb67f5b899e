import { z } from 'zod';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import { discordIdentity } from '@lab/proxmox-sdk';
import { defineFrontEnd } from '@lab/commands';
import { renderDiscordProgress } from './render-discord-progress.js';

/** The bot's package name: `lab` bundles this file and must load the installed bot, not a copy. */
const BOT_PACKAGE: string = '@lab/bot-discord';

/** The bot itself, loaded on first use (a variable specifier, so neither build bundles it here). */
function loadBot(): Promise<typeof import('./index.js')> {
  return import(BOT_PACKAGE) as Promise<typeof import('./index.js')>;
}

/** The `discord` section of lab.config.json. */
export const discordConfigSchema = z
  .object({
    mode: z.enum(['http', 'gateway']).default('http'),
    token: z.string().optional(),
    applicationId: z.string().optional(),
    publicKey: z.string().optional(),
    guildId: z.string().optional(),
    port: z.number().int().optional(),
    host: z.string().min(1).optional(),
    apiUrl: z.url().optional(),
  })
  .strict();

/** The validated `discord` section. */
export type DiscordConfig = z.output<typeof discordConfigSchema>;

/**
 * Discord as a front end (`lab serve discord`): the HTTP interactions endpoint (any path) or the
 * gateway (`discord.mode: gateway`), direct messages with `discord.token`, and the finisher of its
 * progress messages through the interaction webhook (no token needed). discord.js loads only when used.
 */
export const discordFrontEnd = defineFrontEnd<DiscordConfig>({
  id: 'discord',
  label: 'Discord',
  identity: discordIdentity,
  configSchema: discordConfigSchema,
  configFromEnvironment(config, env) {
    if (!env.DISCORD_TOKEN && !env.DISCORD_PUBLIC_KEY) return config;
    return {
      mode: 'http',
      ...config,
      ...(env.DISCORD_TOKEN ? { token: env.DISCORD_TOKEN } : {}),
      ...(env.DISCORD_PUBLIC_KEY ? { publicKey: env.DISCORD_PUBLIC_KEY } : {}),
    };
  },
  secrets: (config) => [config?.token],
  renderProgress: renderDiscordProgress,
  serve: {
    defaultPort: 3001,
    address: (config) => ({
      ...(config?.port !== undefined ? { port: config.port } : {}),
      ...(config?.host ? { host: config.host } : {}),
    }),
    async start({ config, router, services, logger }) {
      const store = services.store;
      const apiUrl = config?.apiUrl ? { apiUrl: config.apiUrl } : {};
      const { startDiscordBot } = await loadBot();
      if (config?.mode === 'gateway') {
        if (!config.token)
          throw new ConfigError("config key 'discord.token': gateway mode needs the bot token (or DISCORD_TOKEN)", {
            key: 'discord.token',
          });
        return {
          ...(await startDiscordBot({ mode: 'gateway', router, store, logger, token: config.token, ...apiUrl })),
          paths: [],
        };
      }
      if (!config?.publicKey || !config.applicationId)
        throw new ConfigError("config key 'discord': set applicationId and publicKey (or DISCORD_PUBLIC_KEY)", {
          key: 'discord',
        });
      const started = await startDiscordBot({
        mode: 'interactions',
        router,
        store,
        logger,
        applicationId: config.applicationId,
        publicKey: config.publicKey,
        ...(config.token ? { token: config.token } : {}),
        ...apiUrl,
      });
      // Without a bot token the endpoint answers commands but cannot open a DM with anyone.
      if (config.token) return started;
      const { notifier: _withoutToken, ...rest } = started;
      return rest;
    },
  },
  async createNotifier({ config, services, logger }) {
    if (!config?.token) return undefined;
    const { createDiscordTokenNotifier } = await loadBot();
    return createDiscordTokenNotifier({
      token: config.token,
      store: services.store,
      logger,
      ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
    });
  },
  async finishProgress({ config, logger }, deployment, summary, text) {
    const { finishDiscordProgress } = await loadBot();
    return finishDiscordProgress(
      { logger, ...(config?.apiUrl ? { apiUrl: config.apiUrl } : {}) },
      deployment.notify,
      summary,
      text,
    );
  },
});

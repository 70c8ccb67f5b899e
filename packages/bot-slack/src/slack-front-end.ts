import { z } from 'zod';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import { slackIdentity } from '@lab/proxmox-sdk';
import { defineFrontEnd, renderProgress } from '@lab/commands';

/** The bot's package name: `lab` bundles this file and must load the installed bot, not a copy. */
const BOT_PACKAGE: string = '@lab/bot-slack';

/** The bot itself, loaded on first use (a variable specifier, so neither build bundles it here). */
function loadBot(): Promise<typeof import('./index.js')> {
  return import(BOT_PACKAGE) as Promise<typeof import('./index.js')>;
}

/** The `slack` section of lab.config.json. */
export const slackConfigSchema = z
  .object({
    signingSecret: z.string().optional(),
    botToken: z.string().optional(),
    socketMode: z.boolean().default(false),
    appToken: z.string().optional(),
    port: z.number().int().optional(),
    host: z.string().min(1).optional(),
    apiUrl: z.url().optional(),
  })
  .strict();

/** The validated `slack` section. */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/**
 * Slack as a front end (`lab serve slack`): the bot over HTTP (`/slack/events`) or Socket Mode, its
 * direct messages, and the finisher of its progress messages from `slack.botToken` (else the stored
 * `response_url`) for a process that does not serve Slack. The bot's code loads only when used.
 */
export const slackFrontEnd = defineFrontEnd<SlackConfig>({
  id: 'slack',
  label: 'Slack',
  identity: slackIdentity,
  configSchema: slackConfigSchema,
  configFromEnvironment(config, env) {
    if (!env.SLACK_SIGNING_SECRET && !env.SLACK_BOT_TOKEN) return config;
    return {
      socketMode: false,
      ...config,
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_BOT_TOKEN ? { botToken: env.SLACK_BOT_TOKEN } : {}),
    };
  },
  secrets: (config) => [config?.signingSecret, config?.botToken, config?.appToken],
  renderProgress,
  serve: {
    defaultPort: 3000,
    address: (config) => ({
      ...(config?.port !== undefined ? { port: config.port } : {}),
      ...(config?.host ? { host: config.host } : {}),
    }),
    async start({ config, router, services, logger }) {
      if (!config?.signingSecret || !config.botToken)
        throw new ConfigError(
          "config key 'slack': set signingSecret and botToken (or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN)",
          { key: 'slack' },
        );
      const { startSlackBot } = await loadBot();
      const started = await startSlackBot({
        router,
        store: services.store,
        logger,
        signingSecret: config.signingSecret,
        botToken: config.botToken,
        ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
        ...(config.socketMode && config.appToken ? { socketModeAppToken: config.appToken } : {}),
      });
      return { ...started, paths: config.socketMode && config.appToken ? [] : ['/slack/'] };
    },
  },
  async createNotifier({ config, services, logger }) {
    if (!config?.botToken) return undefined;
    const { createSlackTokenNotifier } = await loadBot();
    return createSlackTokenNotifier({
      botToken: config.botToken,
      store: services.store,
      logger,
      ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
    });
  },
  async finishProgress({ config, logger }, deployment, summary, text) {
    const { finishSlackProgress, createSlackTokenChatApi } = await loadBot();
    const client = config?.botToken
      ? createSlackTokenChatApi({
          botToken: config.botToken,
          logger,
          ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
        })
      : undefined;
    return finishSlackProgress(client, deployment.notify, summary, { logger, text });
  },
});

import { REST, Routes } from 'discord.js';
import { silentLogger, type DeploymentSummary, type Logger } from '@lab/proxmox-sdk';
import { renderDeploymentSummary } from '@lab/commands';
import { discordContent } from './discord-text.js';

/** What finishing a stored Discord progress message needs. */
export interface FinishDiscordProgressOptions {
  /** discord.js REST client; interaction webhooks need no bot token. @defaultValue a new one for `apiUrl` */
  rest?: REST;
  /** Discord API base URL of the REST client made when `rest` is not given. @defaultValue Discord's */
  apiUrl?: string;
  logger?: Logger;
  now?: () => number;
}

/**
 * Finishes the progress message a deployment's `notify` ref names (`{ platform: 'discord',
 * applicationId, token, channelId, expiresAt }`) with the deployment's summary, by editing the
 * interaction's original response. Discord accepts that only while the interaction token is valid
 * (15 minutes); later it logs that it cannot. The webhook needs no bot token, so any process can
 * do it. `text` is the outcome (`renderFinishedDeployment`); by default the summary's counts.
 * Resolves true when the message was edited; never throws.
 */
export async function finishDiscordProgress(
  options: FinishDiscordProgressOptions,
  notify: Record<string, unknown> | null | undefined,
  summary: DeploymentSummary,
  text: string = renderDeploymentSummary(summary),
): Promise<boolean> {
  const logger = options.logger ?? silentLogger;
  if (notify?.platform !== 'discord') return false;
  const { applicationId, token, expiresAt } = notify;
  const context = { deploymentId: summary.deploymentId, classId: summary.classId };
  if (typeof applicationId !== 'string' || typeof token !== 'string') {
    logger.warn('cannot finish the Discord progress message: its reference has no application id or token', context);
    return false;
  }
  if (typeof expiresAt === 'number' && (options.now ?? Date.now)() >= expiresAt) {
    logger.warn(
      'cannot finish the Discord progress message: its interaction token expired (Discord allows edits for 15 minutes)',
      context,
    );
    return false;
  }
  try {
    const rest = options.rest ?? new REST(options.apiUrl ? { api: options.apiUrl } : {});
    await rest.patch(Routes.webhookMessage(applicationId, token, '@original'), {
      body: { ...discordContent(text), components: [] },
      auth: false,
    });
    return true;
  } catch (error) {
    logger.warn('cannot finish the Discord progress message', { ...context, error });
    return false;
  }
}

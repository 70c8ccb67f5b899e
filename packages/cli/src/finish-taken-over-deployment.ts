import type { ServedKind } from './served-kind.js';
import type { DeploymentRecord, DeploymentSummary, Logger } from '@lab/proxmox-sdk';
import { renderFinishedDeployment, type StartedFrontEnd } from '@lab/commands';
import type { LabConfig } from './lab-config.js';

/**
 * Finishes the progress message of a deployment this process took over, whichever platform started
 * it: through the front end it serves, else through the other platform: a Slack message is edited in
 * place with `slack.botToken` when lab.config.json has one, else answered through its `response_url`;
 * a Discord one through its interaction webhook at `discord.apiUrl`. Resolves false when neither
 * could; never throws.
 */
export async function finishTakenOverDeployment(
  deps: { frontEnd: StartedFrontEnd; kind: ServedKind; config: LabConfig; logger: Logger },
  deployment: DeploymentRecord,
  summary: DeploymentSummary,
): Promise<boolean> {
  const { frontEnd, kind, config, logger } = deps;
  if (await frontEnd.finishDeployment(deployment, summary)) return true;
  const platform = deployment.notify?.platform;
  if (platform === kind) return false;
  const text = renderFinishedDeployment(deployment, summary);
  try {
    if (platform === 'slack') {
      const { finishSlackProgress, createSlackTokenChatApi } = await import('@lab/bot-slack');
      const botToken = config.slack?.botToken;
      const apiUrl = config.slack?.apiUrl;
      const client = botToken ? createSlackTokenChatApi({ botToken, ...(apiUrl ? { apiUrl } : {}) }) : undefined;
      return await finishSlackProgress(client, deployment.notify, summary, { logger, text });
    }
    if (platform === 'discord') {
      const { finishDiscordProgress } = await import('@lab/bot-discord');
      const apiUrl = config.discord?.apiUrl;
      return await finishDiscordProgress({ logger, ...(apiUrl ? { apiUrl } : {}) }, deployment.notify, summary, text);
    }
  } catch (error) {
    logger.warn('cannot finish the progress message of a deployment taken over', {
      deploymentId: deployment.id,
      platform,
      error,
    });
  }
  return false;
}

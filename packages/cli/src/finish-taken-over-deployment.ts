import type { DeploymentRecord, DeploymentSummary, Logger } from '@lab/proxmox-sdk';
import { renderFinishedDeployment, type FrontEndRegistry, type StartedFrontEnd } from '@lab/commands';
import type { LabConfig } from './lab-config.js';

/**
 * Finishes the progress message of a deployment this process took over, whichever front end started
 * it (`notify.platform`): through that front end when this process serves it, else through its
 * definition's `finishProgress` from its settings alone — a Slack message is edited in place with
 * `slack.botToken` when lab.config.json has one, else answered through its `response_url`; a Discord
 * one through its interaction webhook at `discord.apiUrl`. Resolves false when none could; never throws.
 */
export async function finishTakenOverDeployment(
  deps: {
    served: ReadonlyMap<string, StartedFrontEnd>;
    frontEnds: FrontEndRegistry;
    config: LabConfig;
    logger: Logger;
  },
  deployment: DeploymentRecord,
  summary: DeploymentSummary,
): Promise<boolean> {
  const { served, frontEnds, config, logger } = deps;
  const platform = deployment.notify?.platform;
  if (typeof platform !== 'string') return false;
  try {
    const own = served.get(platform);
    if (own) return await own.finishDeployment(deployment, summary);
    const definition = frontEnds.get(platform);
    if (!definition?.finishProgress) return false;
    const text = renderFinishedDeployment(deployment, summary);
    return await definition.finishProgress({ config: config[platform], logger }, deployment, summary, text);
  } catch (error) {
    logger.warn('cannot finish the progress message of a deployment taken over', {
      deploymentId: deployment.id,
      platform,
      error,
    });
    return false;
  }
}

import type { ServedKind } from './served-kind.js';
import { everyPlatformNotifier, type Logger, type PersonNotifier, type Store } from '@lab/proxmox-sdk';
import type { LabConfig } from './lab-config.js';

/**
 * The direct-message notifier of a `lab serve` process: the served front end's own, plus one for
 * each other chat platform whose bot token lab.config.json holds, so whichever process holds the
 * scheduler's lease reaches every person on the platforms they have. A Discord process without a
 * bot token (interactions mode) sends no Discord DMs.
 */
export async function chatNotifier(deps: {
  config: LabConfig;
  kind: ServedKind;
  served: PersonNotifier;
  store: Store;
  logger: Logger;
}): Promise<PersonNotifier> {
  const { config, kind, store, logger } = deps;
  const notifiers: PersonNotifier[] = [];
  if (kind === 'slack') notifiers.push(deps.served);
  else if (config.slack?.botToken) {
    const { createSlackTokenNotifier } = await import('@lab/bot-slack');
    notifiers.push(
      createSlackTokenNotifier({
        botToken: config.slack.botToken,
        store,
        logger,
        ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
      }),
    );
  }
  if (kind === 'discord') {
    if (config.discord?.token) notifiers.push(deps.served);
  } else if (config.discord?.token) {
    const { createDiscordTokenNotifier } = await import('@lab/bot-discord');
    notifiers.push(
      createDiscordTokenNotifier({
        token: config.discord.token,
        store,
        logger,
        ...(config.discord.apiUrl ? { apiUrl: config.discord.apiUrl } : {}),
      }),
    );
  }
  return everyPlatformNotifier(notifiers);
}

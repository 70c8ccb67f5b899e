import { RESTEvents, type Client, type REST } from 'discord.js';
import type { Logger } from '@lab/proxmox-sdk';

/**
 * Routes what discord.js reports through our structured logger (`{ source: 'discord.js' }` on each
 * line): the REST client's rate limits and invalid-request warnings and, with a gateway `client`,
 * its warnings and errors (an `error` event nobody listens to would end the process). Debug events
 * are left out: they name the token and gateway session.
 */
export function routeDiscordLogs(logger: Logger, rest: REST, client?: Client): void {
  const log = logger.child({ source: 'discord.js' });
  rest.on(RESTEvents.RateLimited, (info) =>
    log.warn('Discord rate limit reached; requests wait', {
      route: info.route,
      method: info.method,
      global: info.global,
      retryAfterMs: info.retryAfter,
    }),
  );
  rest.on(RESTEvents.InvalidRequestWarning, (info) =>
    log.warn('many invalid Discord requests; Discord bans a bot that keeps making them', {
      count: info.count,
      remainingTimeMs: info.remainingTime,
    }),
  );
  if (!client) return;
  client.on('warn', (message) => log.warn(message));
  client.on('error', (error) => log.error('discord.js client error', { error }));
}

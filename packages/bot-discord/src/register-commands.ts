import { Routes, type REST } from 'discord.js';
import type { CommandRouter } from '@lab/commands';
import { discordCommandDefinitions } from './discord-command-definitions.js';

/**
 * Registers (bulk-overwrites) the slash commands generated from the command layer's plugins: in one
 * guild (instant, for schools) or globally. Run it once after an upgrade, not on every start.
 */
export async function registerDiscordCommands(options: {
  rest: REST;
  applicationId: string;
  guildId?: string;
  router: CommandRouter;
}): Promise<unknown> {
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  return options.rest.put(route, { body: discordCommandDefinitions(options.router.plugins.values()) });
}

import type { Command } from 'commander';
import { globals, out } from '../global-options.js';
import { LabExit } from '../lab-exit.js';
import { loadLabConfig } from '../lab-config.js';

/** `lab discord register`: the Discord application's slash commands. */
export function addDiscordCommands(program: Command): void {
  const discord = program.command('discord').description('The Discord application');
  discord
    .command('register')
    .description('Register the slash commands with Discord (in one guild: instantly; globally: within an hour)')
    .option('--guild <id>', 'the guild (server) id (default: discord.guildId)')
    .action(async (options: { guild?: string }, command: Command) => {
      const flags = globals(command);
      const config = loadLabConfig(flags.config);
      const settings = config.discord;
      if (!settings?.token || !settings.applicationId)
        throw new LabExit("config key 'discord': set token (or DISCORD_TOKEN) and applicationId to register commands.");
      const [{ REST }, { registerDiscordCommands }, { openLabRuntime }] = await Promise.all([
        import('discord.js'),
        import('@lab/bot-discord'),
        import('../lab-runtime.js'),
      ]);
      const runtime = await openLabRuntime(config);
      try {
        const rest = new REST(settings.apiUrl ? { api: settings.apiUrl } : {}).setToken(settings.token);
        const guildId = options.guild ?? settings.guildId;
        await registerDiscordCommands({
          rest,
          applicationId: settings.applicationId,
          ...(guildId ? { guildId } : {}),
          router: runtime.router,
        });
        const names = [...runtime.router.plugins.keys()].map((k) => `/${k}`);
        const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
        out(
          flags.json
            ? JSON.stringify({ registered: names, guildId: guildId ?? null })
            : `registered ${list} ${guildId ? `in guild ${guildId}` : 'globally (may take up to an hour to appear)'}`,
        );
      } finally {
        await runtime.close();
      }
    });
}

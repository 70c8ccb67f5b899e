// The light entry `@lab/bot-discord/front-end`: the front-end definition, without loading discord.js until it starts.
export { discordConfigSchema, discordFrontEnd, type DiscordConfig } from './discord-front-end.js';

export {
  createDiscordInteractions,
  type DiscordInteractions,
  type DiscordInteractionsOptions,
} from './discord-interactions.js';
export { registerDiscordCommands } from './register-commands.js';
export { discordCommandDefinitions } from './discord-command-definitions.js';
export { discordPublicKey, verifyDiscordSignature } from './verify-discord-signature.js';
export { attachDiscordGatewayBot, type DiscordGatewayOptions } from './discord-gateway-bot.js';
export { finishDiscordProgress, type FinishDiscordProgressOptions } from './finish-discord-progress.js';
export { createDiscordPersonNotifier, createDiscordTokenNotifier } from './discord-person-notifier.js';
export { startDiscordBot, type StartDiscordBotOptions } from './start-discord-bot.js';
export { discordConfigSchema, discordFrontEnd, type DiscordConfig } from './discord-front-end.js';
export { renderDiscordProgress } from './render-discord-progress.js';

export { createDiscordInteractions, type DiscordInteractions, type DiscordInteractionsOptions } from './discord-interactions.js';
export { registerDiscordCommands } from './register-commands.js';
export { discordPublicKey, verifyDiscordSignature } from './verify-discord-signature.js';

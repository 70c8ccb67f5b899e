export { createSlackBot, type SlackBot, type SlackBotOptions } from './slack-bot.js';
export { signSlackRequest } from './sign-slack-request.js';
export { finishSlackProgress, SlackProgressMessage, type SlackChatApi } from './slack-progress.js';
export {
  createSlackPersonNotifier,
  createSlackTokenChatApi,
  createSlackTokenNotifier,
  type SlackDmApi,
} from './slack-person-notifier.js';
export { startSlackBot, type StartSlackBotOptions } from './start-slack-bot.js';
export { slackConfigSchema, slackFrontEnd, type SlackConfig } from './slack-front-end.js';

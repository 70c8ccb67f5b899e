// The light entry `@lab/bot-slack/front-end`: the front-end definition, without loading Bolt until it starts.
export { slackConfigSchema, slackFrontEnd, type SlackConfig } from './slack-front-end.js';

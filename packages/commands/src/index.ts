export * from './command-plugin.js';
export { CommandRouter, EXPIRED_CONFIRMATION, wholeNumber, type CommandRouterOptions, type ConfirmationClick, type Invocation, type PreparedCommand, type RateLimit } from './command-router.js';
export { labPlugin, mentionedUserId } from './plugins/lab-plugin.js';
export { myvmPlugin } from './plugins/myvm-plugin.js';
export { createLabServices, type LabServicesOptions } from './lab-services.js';
export { renderDeploymentSummary, renderProgressBar, renderReplyText } from './render.js';

import { labPlugin } from './plugins/lab-plugin.js';
import { myvmPlugin } from './plugins/myvm-plugin.js';

/** The built-in plugins: `/lab` and `/myvm`. */
export const builtinPlugins = [labPlugin, myvmPlugin] as const;
